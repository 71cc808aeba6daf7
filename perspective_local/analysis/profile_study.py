"""Fit per-user preference profiles on PRISM and test them on held-out choices.

``run_profiles()`` is what ``perspective-local profiles`` calls. It writes, into ``out``:

* ``user_profiles.parquet``: per (user, attribute) posterior mean, SD, 90% interval;
* ``population.json``: population weights, random-slope SDs and correlations, covariate
  weights, LLM effects, sampler settings, convergence and provenance;
* ``loo.csv``: ELPD-LOO of the random-slope model against the population-only model;
* ``prediction.csv`` and ``learning_curve.csv`` (unless ``evaluate=False``): held-out
  accuracy, log-loss and Brier score of each predictor, warm and cold start;
* ``profiles.md`` and ``figures/``: the population distribution of weights, their
  correlations, and the learning curve.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from perspective_local.analysis import prediction, profiles
from perspective_local.analysis.ranking import POPULATION_FILE, PROFILES_FILE
from perspective_local.analysis.specs import SamplerOptions
from perspective_local.analysis.terms import PREDICTORS

if TYPE_CHECKING:
    import pandas as pd

    from perspective_local.settings import Settings

Say = Callable[[str], None]


@dataclass(frozen=True)
class ProfileOutputs:
    """What :func:`run_profiles` wrote and the main fit."""

    user_profiles: Path
    population: Path
    loo: Path
    report: Path
    figures: list[Path]
    prediction: Path | None
    learning_curve: Path | None
    fit: profiles.ProfileFit


def _timed_fit(
    label: str, sets: profiles.ChoiceSets, options: SamplerOptions, say: Say, **kind: bool
) -> profiles.ProfileFit:
    say(f"{label}: fitting {sets.n:,} conversations of {len(sets.users):,} users")
    started = time.perf_counter()
    fit = profiles.fit_profiles(sets, options, **kind)
    say(f"{label}: done in {time.perf_counter() - started:.0f} s")
    return fit


def _convergence(fit: profiles.ProfileFit) -> dict[str, Any]:
    """R-hat, ESS and divergences of the population-level parameters (weights, random-slope
    SDs and correlations, covariate weights, the LLM SD), with the analyses' thresholds."""
    import arviz as az

    from perspective_local.analysis import hypotheses

    posterior = fit.idata["posterior"]
    names = [n for n in ("weight", "sd", "correlation", "covariate_weight", "sd_llm")
             if n in posterior]  # fmt: skip
    groups: dict[str, Any] = {"posterior": posterior[names]}
    if "sample_stats" in fit.idata.groups():
        groups["sample_stats"] = fit.idata["sample_stats"]
    # A correlation matrix's diagonal is constantly 1: no ESS, nothing to check. (With one
    # chain there is no R-hat at all: reported as null.)
    full = hypotheses.convergence(az.InferenceData(**groups))
    table = full[full["ess_bulk"].notna()]
    table.attrs["divergences"] = full.attrs["divergences"]
    max_r_hat = table["r_hat"].max()
    return {
        "max_r_hat": None if np.isnan(max_r_hat) else float(max_r_hat),
        "min_ess_bulk": float(table["ess_bulk"].min()),
        "divergences": int(table.attrs["divergences"]),
        "problems": hypotheses.convergence_problems(table),
    }


def _evaluate(
    sets: profiles.ChoiceSets,
    options: SamplerOptions,
    *,
    covariates: bool,
    last: int,
    cold_share: float,
    say: Say,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The prediction protocol: fit on the training side, score warm and cold held-out."""
    import pandas as pd

    split = prediction.holdout_split(sets, last=last, cold_share=cold_share, seed=options.seed)
    say(
        f"held out: last {last} conversation(s) of {len(split.warm.users):,} users "
        f"({split.warm.n:,}), and {0 if split.cold is None else len(split.cold.users):,} "
        "whole users (cold start)"
    )
    plain = _timed_fit("training fit, random slopes", split.train, options, say)
    warm = {"population": prediction.predict(plain, split.warm, "population"),
            "user": prediction.predict(plain, split.warm, "user")}  # fmt: skip
    cold = {"population": prediction.predict(plain, split.cold, "population")} if split.cold \
        else {}  # fmt: skip
    if covariates:
        with_covariates = _timed_fit(
            "training fit, random slopes + covariates", split.train, options, say,
            covariates=True,
        )  # fmt: skip
        warm["user shrunk to covariates"] = prediction.predict(with_covariates, split.warm, "user")
        warm["covariates"] = prediction.predict(with_covariates, split.warm, "covariates")
        if split.cold is not None:
            cold["covariates"] = prediction.predict(with_covariates, split.cold, "covariates")
    tables = [prediction.score_predictions(warm, split.warm).assign(start="warm")]
    if split.cold is not None:
        tables.append(prediction.score_predictions(cold, split.cold).assign(start="cold"))
    curve = prediction.learning_curve(
        prediction.Hyper.from_fit(plain), split.train, split.warm, seed=options.seed
    )
    return pd.concat(tables, ignore_index=True), curve


def run_profiles(
    prism_dir: Path,
    out: Path,
    *,
    scores_file: Path | None = None,
    covariates: bool = True,
    evaluate: bool = True,
    last: int = 1,
    cold_share: float = 0.2,
    options: SamplerOptions | None = None,
    figures: bool = True,
    allow_missing_scores: bool = False,
    settings: Settings | None = None,
    server: str | None = None,
    api_key: str | None = None,
    say: Say = print,
) -> ProfileOutputs:
    """Fit the population-only and the random-slope choice models, write the profiles,
    compare them by ELPD-LOO and (``evaluate``) run the held-out prediction protocol."""
    from perspective_local.analysis.study import load_scored

    options = options or SamplerOptions()
    out.mkdir(parents=True, exist_ok=True)
    table, users, load_report, provenance = load_scored(
        prism_dir, scores_file=scores_file, allow_missing_scores=allow_missing_scores,
        settings=settings, server=server, api_key=api_key, say=say,
    )  # fmt: skip
    sets = profiles.ChoiceSets.from_table(table, users)
    for reason, count in sets.dropped.items():
        if count:
            say(f"dropped {count:,} {reason}")
    population_only = _timed_fit("population-only model", sets, options, say, slopes=False)
    label = "random slopes" + (" + covariates" if covariates else "")
    fit = _timed_fit(label, sets, options, say, covariates=covariates)
    convergence = _convergence(fit)
    for problem in convergence["problems"]:
        say(f"{label}: WARNING {problem} (more --draws and --tune help)")

    profiles_path = out / PROFILES_FILE
    profiles.user_profiles(fit).to_parquet(profiles_path, index=False)
    summary = profiles.population_summary(fit)
    summary.update(
        convergence=convergence,
        sampler={
            "draws": options.draws or profiles.DEFAULT_DRAWS,
            "tune": options.tune if options.tune is not None else profiles.DEFAULT_TUNE,
            "chains": options.chains or profiles.DEFAULT_CHAINS,
            "seed": options.seed,
            "name": fit.idata["posterior"].attrs.get("sampler"),
        },
        provenance=provenance,
        dropped=dict(sets.dropped),
    )
    population_path = out / POPULATION_FILE
    population_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    loo = profiles.compare_loo({label: fit, "population only (1a's intercepts)": population_only})
    loo_path = out / "loo.csv"
    loo.to_csv(loo_path)

    prediction_path = curve_path = None
    scores_table = curve = None
    if evaluate:
        scores_table, curve = _evaluate(
            sets, options, covariates=covariates, last=last, cold_share=cold_share, say=say
        )
        prediction_path, curve_path = out / "prediction.csv", out / "learning_curve.csv"
        scores_table.to_csv(prediction_path, index=False)
        curve.to_csv(curve_path, index=False)
    figure_paths = _write_figures(out, fit, curve) if figures else []
    report = _write_report(out, summary, loo, scores_table, curve, load_report)
    say(f"wrote {profiles_path}, {population_path}, {loo_path}, {report}")
    return ProfileOutputs(profiles_path, population_path, loo_path, report, figure_paths,
                          prediction_path, curve_path, fit)  # fmt: skip


def _write_figures(out: Path, fit: profiles.ProfileFit, curve: pd.DataFrame | None) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory = out / "figures"
    directory.mkdir(exist_ok=True)
    paths = []
    means = fit.user_weight_draws().mean(axis=0)
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
    left.violinplot([means[:, k] for k in range(len(PREDICTORS))], showmedians=True)
    left.scatter(np.arange(1, len(PREDICTORS) + 1), fit.draws("weight").mean(axis=0),
                 color="black", marker="D", label="population weight", zorder=3)  # fmt: skip
    left.axhline(0, color="grey", lw=0.8)
    left.set_xticks(np.arange(1, len(PREDICTORS) + 1), PREDICTORS, rotation=30, ha="right")
    left.set_ylabel("weight on the choice logit (per unit of attribute)")
    left.set_title("Users' posterior-mean weights")
    left.legend(loc="best")
    if fit.slopes:
        correlation = fit.draws("correlation").mean(axis=0)
        image = right.imshow(correlation, vmin=-1, vmax=1, cmap="RdBu_r")
        for (i, j), value in np.ndenumerate(correlation):
            right.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8)
        right.set_xticks(range(len(PREDICTORS)), PREDICTORS, rotation=30, ha="right")
        right.set_yticks(range(len(PREDICTORS)), PREDICTORS)
        right.set_title("Correlation of users' weights (posterior mean)")
        figure.colorbar(image, ax=right, shrink=0.8)
    paths.append(directory / "profiles.png")
    figure.savefig(paths[-1], dpi=120)
    plt.close(figure)
    if curve is not None:
        figure, axis = plt.subplots(figsize=(6, 4), layout="constrained")
        accuracy = curve[curve["metric"] == "accuracy"]
        labels = [str(v) for v in accuracy["observed"]]
        below = accuracy["value"] - accuracy["ci_lower"]
        above = accuracy["ci_upper"] - accuracy["value"]
        axis.errorbar(labels, accuracy["value"], yerr=[below, above], marker="o", capsize=3)
        axis.set_xlabel("conversations of the user observed")
        axis.set_ylabel("held-out accuracy (95% CI)")
        axis.set_title("Learning curve")
        paths.append(directory / "learning_curve.png")
        figure.savefig(paths[-1], dpi=120)
        plt.close(figure)
    return paths


def _number(value: float | None) -> str:
    return "n/a (one chain)" if value is None else f"{value:.3f}"


def _markdown(frame: pd.DataFrame) -> str:
    columns = list(frame.columns)
    lines = ["| " + " | ".join(map(str, columns)) + " |", "|" + "---|" * len(columns)]
    for row in frame.itertuples(index=False):
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _write_report(
    out: Path,
    summary: dict[str, Any],
    loo: pd.DataFrame,
    scores_table: pd.DataFrame | None,
    curve: pd.DataFrame | None,
    load_report: list[str],
) -> Path:
    import pandas as pd

    interval = f"{summary['interval']:.0%}"
    population = pd.DataFrame({"attribute": summary["attributes"],
                               "weight": summary["weight"]["mean"],
                               f"{interval} lower": summary["weight"]["lower"],
                               f"{interval} upper": summary["weight"]["upper"]})  # fmt: skip
    if "sd" in summary:
        population["user SD"] = summary["sd"]["mean"]
        population["SD lower"] = summary["sd"]["lower"]
        population["SD upper"] = summary["sd"]["upper"]
    lines = [
        "# Per-user preference profiles",
        "",
        f"{summary['users']:,} users, {summary['conversations']:,} conversations. "
        f"Convergence: max R-hat {_number(summary['convergence']['max_r_hat'])}, min bulk ESS "
        f"{summary['convergence']['min_ess_bulk']:.0f}, "
        f"{summary['convergence']['divergences']} divergences.",
        *(f"- **Warning:** {p}" for p in summary["convergence"]["problems"]),
        "",
        "## Population weights and the spread of users' weights",
        "",
        _markdown(population),
        "",
        "## ELPD-LOO",
        "",
        _markdown(loo.reset_index().rename(columns={"index": "model"})[
            ["model", "elpd_loo", "se", "elpd_diff", "dse"]]),
        "",
    ]  # fmt: skip
    if scores_table is not None and curve is not None:
        shown = scores_table[["start", "predictor", "metric", "value", "ci_lower", "ci_upper"]]
        lines += ["## Held-out choices (95% CIs resample users)", "", _markdown(shown), "",
                  "## Learning curve", "", _markdown(curve), ""]  # fmt: skip
    lines += ["## Data notes", "", *(f"- {line}" for line in load_report), ""]
    path = out / "profiles.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
