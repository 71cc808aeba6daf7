"""Recovery and held-out prediction of per-user preference profiles on planted data.

Writes a synthetic release with planted per-user weights (``prism synth --profiles``),
holds out the last ``--holdout-last`` conversations of each user and ``--cold-share`` of the
users, fits the random-slope choice model with covariates on the rest, and prints:

* coverage of the per-user 90% intervals of the planted weights (target 0.85-0.95), and of
  the population weights, SDs and correlations;
* held-out accuracy / log-loss / Brier of the population, per-user and covariate
  predictions, beside the oracle that knows the planted population distribution (what the
  planted heterogeneity makes available), with user-bootstrap 95% CIs;
* the learning curve, fitted and oracle.

    python benchmarks/profiles_recovery.py [--users 600] [--seed 0] [--draws 500]
        [--tune 500] [--chains 4] [--holdout-last 2] [--cold-share 0.2]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
import warnings
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd

from perspective_local.analysis import prediction, profiles
from perspective_local.analysis.prism import load_prism
from perspective_local.analysis.scores import attach_scores, read_scores_file
from perspective_local.analysis.specs import SamplerOptions
from perspective_local.analysis.synth import synthesize
from perspective_local.analysis.terms import PREDICTORS


def _covered(lower: object, upper: object, true: np.ndarray) -> np.ndarray:
    return np.asarray((np.asarray(lower) <= true) & (true <= np.asarray(upper)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--holdout-last", type=int, default=2)
    parser.add_argument("--cold-share", type=float, default=0.2)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    pd.set_option("display.width", 160)

    directory = Path(tempfile.mkdtemp(prefix="prism_profiles_"))
    truth = synthesize(directory, users=args.users, seed=args.seed, profiles=True)
    data = load_prism(directory)
    sets = profiles.ChoiceSets.from_table(
        attach_scores(data, read_scores_file(directory / "scores.jsonl")), data.users
    )
    split = prediction.holdout_split(
        sets, last=args.holdout_last, cold_share=args.cold_share, seed=args.seed
    )
    print(f"{len(sets.users)} users, {sets.n} conversations; training {split.train.n}, "
          f"warm held-out {split.warm.n}, cold held-out "
          f"{0 if split.cold is None else split.cold.n}", flush=True)  # fmt: skip
    started = time.perf_counter()
    options = SamplerOptions(draws=args.draws, tune=args.tune, chains=args.chains, seed=args.seed)
    fit = profiles.fit_profiles(split.train, options, covariates=True)
    seconds = time.perf_counter() - started

    planted = truth["profiles"]
    table = profiles.user_profiles(fit)
    pairs = zip(table["user_id"], table["attribute"], strict=True)
    true = np.array([planted["users"][u][a] for u, a in pairs])
    summary = profiles.population_summary(fit)
    sd = np.array([planted["sd"][a] for a in PREDICTORS])
    weight = np.array([planted["population"][a] for a in PREDICTORS])
    correlation = np.array(planted["correlation"])
    upper_triangle = np.triu_indices(len(PREDICTORS), 1)
    correlation_covered = _covered(
        summary["correlation"]["lower"], summary["correlation"]["upper"], correlation
    )
    report = {
        "fit_seconds": round(seconds, 1),
        "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2),
        "user_weight_coverage_90": round(
            float(_covered(table["lower"], table["upper"], true).mean()), 3
        ),
        "population_weight_coverage": int(
            _covered(summary["weight"]["lower"], summary["weight"]["upper"], weight).sum()
        ),
        "sd_coverage": int(_covered(summary["sd"]["lower"], summary["sd"]["upper"], sd).sum()),
        "correlation_coverage": int(correlation_covered[upper_triangle].sum()),
    }
    diagnostics = az.summary(fit.idata, var_names=["weight", "sd", "covariate_weight"],
                             kind="diagnostics")  # fmt: skip
    report["max_rhat"] = round(float(diagnostics["r_hat"].max()), 3)
    report["min_ess_bulk"] = int(diagnostics["ess_bulk"].min())
    print(json.dumps(report), flush=True)

    oracle = prediction.oracle_hyper(truth, sets)
    nothing = prediction._empty_like(split.train)
    warm = {
        "population": prediction.predict(fit, split.warm, "population"),
        "covariates": prediction.predict(fit, split.warm, "covariates"),
        "user": prediction.predict(fit, split.warm, "user"),
        "oracle covariates": prediction.updated_predict(oracle, nothing, split.warm, samples=2000),
        "oracle user": prediction.updated_predict(oracle, split.train, split.warm, samples=2000),
    }
    columns = ["predictor", "metric", "value", "ci_lower", "ci_upper", "difference",
               "difference_lower", "difference_upper"]  # fmt: skip
    print("\nwarm start (differences from population)")
    print(prediction.score_predictions(warm, split.warm)[columns].round(4).to_string(index=False))
    if split.cold is not None:
        cold = {
            "population": prediction.predict(fit, split.cold, "population"),
            "covariates": prediction.predict(fit, split.cold, "covariates"),
            "oracle covariates": prediction.updated_predict(
                oracle, nothing, split.cold, samples=2000
            ),
        }
        print("\ncold start (differences from population)")
        print(
            prediction.score_predictions(cold, split.cold)[columns].round(4).to_string(index=False)
        )
    hyper = prediction.Hyper.from_fit(fit)
    curves = pd.concat(
        [
            prediction.learning_curve(hyper, split.train, split.warm).assign(source="fitted"),
            prediction.learning_curve(oracle, split.train, split.warm).assign(source="oracle"),
        ]
    )
    print("\nlearning curve")
    print(curves.round(4).to_string(index=False))


if __name__ == "__main__":
    main()
