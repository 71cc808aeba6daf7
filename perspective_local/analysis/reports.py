"""Tables and figures over fitted analyses: coefficients.csv, report.md, coefficient plots.

``table_*`` functions compute DataFrames; ``plot_*`` functions take InferenceData (or a
table) first, draw on ``ax`` (created when None) and return the axes; ``write_*`` functions
put files on disk. Matplotlib is imported lazily and always with the non-interactive backend.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from perspective_local.analysis.hypotheses import coefficient_draws
from perspective_local.analysis.paper import ELPD_DIFF_LLM, ELPD_DIFF_LLM_SE, paper_table
from perspective_local.analysis.specs import CI_PROB, get_analysis
from perspective_local.analysis.terms import PREDICTORS, human

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

COEFFICIENT_COLUMNS = (
    "analysis", "subset", "term", "estimate", "est_error", "ci_lower", "ci_upper",
    "evid_ratio", "post_prob", "star",
)  # fmt: skip
#: Figure 1a/1b's y-axis order, bottom to top as the paper draws it.
FIGURE_ORDER = (
    "PERSONAL_STORY", "COMPASSION", "RESPECT", "AFFINITY", "CURIOSITY", "TOXICITY",
    "REASONING_NUANCE",
)  # fmt: skip


@dataclass
class FitResult:
    """One fitted analysis on one subset, with its tables."""

    analysis: str
    subset: str
    idata: Any
    hypotheses: pd.DataFrame
    convergence: pd.DataFrame
    problems: list[str]
    n_rows: int
    seconds: float
    dropped: Mapping[str, int] = field(default_factory=dict)


def table_coefficients(results: Sequence[FitResult]) -> pd.DataFrame:
    """All coefficients of all fits, in ``coefficients.csv``'s columns."""
    import pandas as pd

    frames = [r.hypotheses.assign(analysis=r.analysis, subset=r.subset) for r in results]
    if not frames:
        return pd.DataFrame(columns=list(COEFFICIENT_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(COEFFICIENT_COLUMNS)]


def table_versus_paper(coefficients: pd.DataFrame) -> pd.DataFrame:
    """Our coefficients beside the paper's, for the terms the paper reports."""
    paper = paper_table()[
        ["analysis", "subset", "term", "estimate", "ci_lower", "ci_upper", "evid_ratio", "star"]
    ]
    return coefficients.merge(
        paper, on=["analysis", "subset", "term"], how="left", suffixes=("", "_paper")
    )


def _fmt(value: float, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if math.isinf(value):
        return "Inf"
    return f"{value:,.{digits}f}"


def _markdown_table(frame: pd.DataFrame) -> list[str]:
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return [header, rule, *body, ""]


def _comparison_rows(result: FitResult, versus: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    spec = get_analysis(result.analysis)
    rows = versus[(versus["analysis"] == result.analysis) & (versus["subset"] == result.subset)]
    if spec.reported and result.analysis != "mirroring":
        rows = rows[rows["term"].isin(spec.reported)]
    return pd.DataFrame(
        {
            "term": [f"{t} {d}0" for t, d in zip(rows["term"], rows["direction"], strict=True)],
            "estimate [5%, 95%]": [
                f"{_fmt(e)} [{_fmt(lo)}, {_fmt(hi)}]"
                for e, lo, hi in zip(
                    rows["estimate"], rows["ci_lower"], rows["ci_upper"], strict=True
                )
            ],
            "evid. ratio": [_fmt(v) for v in rows["evid_ratio"]],
            "post. prob": [_fmt(v) for v in rows["post_prob"]],
            "star": list(rows["star"]),
            "paper [5%, 95%]": [
                "" if (isinstance(e, float) and math.isnan(e))
                else f"{_fmt(e)} [{_fmt(lo)}, {_fmt(hi)}]"
                for e, lo, hi in zip(
                    rows["estimate_paper"],
                    rows["ci_lower_paper"],
                    rows["ci_upper_paper"],
                    strict=True,
                )
            ],
            "paper ratio": [_fmt(v) for v in rows["evid_ratio_paper"]],
            "paper star": [s if isinstance(s, str) else "" for s in rows["star_paper"]],
        }
    )  # fmt: skip


def write_report(
    out: Path,
    results: Sequence[FitResult],
    *,
    load_report: Sequence[str],
    provenance: Mapping[str, str],
    loo: Mapping[str, pd.DataFrame] | None = None,
) -> Path:
    """Write ``report.md``: data notes, each fit beside the paper, diagnostics, ELPD-LOO."""
    coefficients = table_coefficients(results)
    with_direction = coefficients.merge(
        _directions(results), on=["analysis", "subset", "term"], how="left"
    )
    versus = table_versus_paper(with_direction)
    lines = [
        "# Constructive interactions in PRISM: our estimates beside the paper's",
        "",
        "Kyrychenko et al. (2025), arXiv:2503.16480. Hypotheses are one-sided as in brms",
        f"`hypothesis()`: estimate = posterior mean, interval = {100 * (1 - CI_PROB) / 2:g}% and "
        f"{100 * (1 + CI_PROB) / 2:g}% quantiles, evidence ratio = k/(N-k),",
        "`*` evidence ratio > 100, `†` > 10. The paper's values are from its Tables 2-4.",
        "",
        "## Provenance",
        "",
        *(f"- {k}: `{v}`" for k, v in provenance.items()),
        "",
        "## Data: what was dropped or noticed",
        "",
        *(f"- {line}" for line in load_report),
        "",
    ]
    for result in results:
        spec = get_analysis(result.analysis)
        lines += [
            f"## {spec.label}: {result.subset}",
            "",
            f"`{spec.formula}`",
            "",
            f"{result.n_rows:,} rows; sampled in {result.seconds:.0f} s.",
            *(f"Dropped: {reason}: {n:,}." for reason, n in result.dropped.items() if n),
            "",
        ]
        if result.problems:
            lines += ["**Convergence warnings:**", *(f"- {p}" for p in result.problems), ""]
        else:
            lines += ["Convergence: R-hat, bulk/tail ESS and divergences within limits.", ""]
        lines += _markdown_table(_comparison_rows(result, versus))
    if loo:
        lines += ["## ELPD-LOO: with vs without the LLM random effect", ""]
        lines += [
            f"The paper reports a difference of {ELPD_DIFF_LLM} (SE {ELPD_DIFF_LLM_SE}) "
            "in favour of keeping `(1 | model_name)`; which outcome model it used is not stated.",
            "",
        ]
        for name, table in loo.items():
            frame = table.reset_index(names="model")[
                ["model", "elpd_loo", "elpd_diff", "dse", "p_loo"]
            ]
            lines += [f"### {name}", "", *_markdown_table(frame.round(1))]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _directions(results: Sequence[FitResult]) -> pd.DataFrame:
    import pandas as pd

    frames = [
        r.hypotheses[["term", "direction"]].assign(analysis=r.analysis, subset=r.subset)
        for r in results
    ]
    return pd.concat(frames) if frames else pd.DataFrame(columns=["analysis", "subset", "term"])


def write_coefficients(out: Path, results: Sequence[FitResult]) -> Path:
    path = out / "coefficients.csv"
    table_coefficients(results).to_csv(path, index=False)
    return path


def write_convergence(out: Path, results: Sequence[FitResult]) -> Path:
    import pandas as pd

    frames = [
        r.convergence.assign(
            analysis=r.analysis,
            subset=r.subset,
            divergences=r.convergence.attrs.get("divergences", 0),
        )
        for r in results
    ]
    path = out / "convergence.csv"
    if frames:
        pd.concat(frames, ignore_index=True).to_csv(path, index=False)
    return path


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_coefficients(
    idata: Any, var_names: Sequence[str] | None = None, ax: Axes | None = None
) -> Axes:
    """Posterior densities of coefficients with interval bars (the paper's Figure 1a/1b)."""
    from scipy.stats import gaussian_kde

    plt = _pyplot()
    draws = coefficient_draws(idata)
    names = list(var_names or [t for t in FIGURE_ORDER if t in draws] or draws)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.6 * len(names) + 1.2))
    alpha = (1 - CI_PROB) / 2
    for row, name in enumerate(names):
        values = draws[name]
        lo, hi = np.quantile(values, [alpha, 1 - alpha])
        grid = np.linspace(values.min(), values.max(), 200)
        density = gaussian_kde(values)(grid) if values.std() > 0 else np.zeros_like(grid)
        height = density / density.max() * 0.8 if density.max() > 0 else density
        ax.fill_between(grid, row, row + height, alpha=0.5, color="tab:blue")
        ax.plot([lo, hi], [row, row], color="black", linewidth=2)
        ax.plot([values.mean()], [row], "o", color="black", markersize=4)
    ax.axvline(0, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(names)), [n.replace("_", " ") for n in names])
    ax.set_xlabel(f"coefficient (posterior; bar = {CI_PROB:.0%} interval)")
    return ax


def plot_mirroring(coefficients: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """The 7x7 prompt -> response matrix (the paper's Figure 1c): colour and size = estimate."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 6))
    grid = np.full((len(PREDICTORS), len(PREDICTORS)), np.nan)
    estimates = dict(zip(coefficients["term"], coefficients["estimate"], strict=True))
    for i, predictor in enumerate(PREDICTORS):
        for j, dv in enumerate(PREDICTORS):
            grid[i, j] = estimates.get(f"{dv} ~ {human(predictor)}", np.nan)
    xs, ys = np.meshgrid(range(len(PREDICTORS)), range(len(PREDICTORS)))
    scatter = ax.scatter(
        xs.ravel(), ys.ravel(), c=grid.ravel(), s=900 * np.abs(np.nan_to_num(grid.ravel())) + 10,
        cmap="coolwarm", vmin=-1, vmax=1,
    )  # fmt: skip
    labels = [p.replace("_", " ") for p in PREDICTORS]
    ax.set_xticks(range(len(PREDICTORS)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(PREDICTORS)), labels)
    ax.set_xlabel("LLM response attribute")
    ax.set_ylabel("human prompt attribute")
    ax.figure.colorbar(scatter, ax=ax, label="coefficient")
    return ax


def write_figures(out: Path, results: Sequence[FitResult]) -> list[Path]:
    """One coefficient figure per fit with the seven predictors, and the mirroring matrix."""
    plt = _pyplot()
    paths = []
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    for result in results:
        if result.analysis == "mirroring":
            ax = plot_mirroring(result.hypotheses)
        elif result.analysis in ("choice", "score"):
            ax = plot_coefficients(result.idata)
        else:
            continue
        ax.set_title(f"{get_analysis(result.analysis).label}: {result.subset}", fontsize=9)
        path = figures / f"{result.analysis}_{result.subset}.png"
        figure = cast("Figure", ax.figure)
        figure.tight_layout()
        figure.savefig(path, dpi=120)
        plt.close(figure)
        paths.append(path)
    return paths
