"""Parameter recovery of every analysis over several synthetic PRISM releases.

For each seed, writes a synthetic release (default 300 users), fits the five analyses on
all data, and compares each coefficient's 90% interval with the value that analysis should
recover (``truth.json["expected"]``). Prints, per seed and pooled over seeds: interval
coverage per analysis, the RMS of the errors in posterior SDs (about 1 for calibrated
intervals, more for overconfident ones), sign recovery for |effect| >= 0.5, and the worst
R-hat and bulk ESS. Coverage of one release is itself random (for calibrated 90% intervals
it falls below 0.90 on about half of all releases), so calibration is read from the pooled
figures.

    python benchmarks/analysis_recovery.py [--users 300] [--seeds 11,12,13,14,15]
                                           [--draws 500] [--tune 500] [--chains 2]
                                           [--analyses choice,score,...] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from perspective_local.analysis import hypotheses, specs
from perspective_local.analysis.prism import load_prism
from perspective_local.analysis.scores import attach_scores, read_scores_file
from perspective_local.analysis.synth import synthesize

SIGN_THRESHOLD = 0.5


def recover(
    release: Path, analyses: list[str], options: specs.SamplerOptions
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-term recovery and per-analysis diagnostics for one synthetic release."""
    data = load_prism(release)
    table = attach_scores(data, read_scores_file(release / "scores.jsonl"))
    expected = json.loads((release / "truth.json").read_text())["expected"]
    terms, fits = [], []
    for name in analyses:
        spec = specs.get_analysis(name)
        started = time.perf_counter()
        idata = specs.fit(spec, specs.design(spec, table, data.users), options)
        seconds = time.perf_counter() - started
        h = hypotheses.hypothesis_table(idata)
        h["analysis"] = name
        h["truth"] = h["term"].map(expected[name])
        terms.append(h)
        conv = hypotheses.convergence(idata)
        fits.append(
            {
                "analysis": name,
                "seconds": round(seconds, 1),
                "max_rhat": round(float(conv["r_hat"].max()), 3),
                "min_ess_bulk": int(conv["ess_bulk"].min()),
                "divergences": int(conv.attrs["divergences"]),
            }
        )
    result = pd.concat(terms, ignore_index=True)
    result["covered"] = (result["ci_lower"] <= result["truth"]) & (
        result["truth"] <= result["ci_upper"]
    )
    result["z"] = (result["estimate"] - result["truth"]) / result["est_error"]
    return result, pd.DataFrame(fits)


def summarise(terms: pd.DataFrame) -> pd.DataFrame:
    """Coverage, RMS error in SDs and sign recovery, per analysis and over all terms."""

    def one(part: pd.DataFrame) -> pd.Series:
        large = part[part["truth"].abs() >= SIGN_THRESHOLD]
        signs = ((large["estimate"] > 0) == (large["truth"] > 0)).sum()
        return pd.Series(
            {
                "terms": len(part),
                "coverage_90": round(float(part["covered"].mean()), 3),
                "rms_z": round(float(np.sqrt((part["z"] ** 2).mean())), 2),
                "signs_recovered": f"{signs}/{len(large)}",
            }
        )

    per_analysis = terms.groupby("analysis").apply(one, include_groups=False)
    per_analysis.loc["all terms"] = one(terms)
    return per_analysis


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--seeds", default="11,12,13,14,15")
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--analyses", default=",".join(specs.ANALYSES))
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    warnings.simplefilter("ignore", FutureWarning)
    warnings.simplefilter("ignore", hypotheses.ConvergenceWarning)

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="prism_recovery_"))
    options = specs.SamplerOptions(draws=args.draws, tune=args.tune, chains=args.chains)
    analyses = [specs.get_analysis(a).name for a in args.analyses.split(",")]
    print(
        f"{args.users} users per release; {args.chains} chains x ({args.tune} warm-up + "
        f"{args.draws} draws); releases in {workdir}",
        flush=True,
    )
    pooled = []
    for seed in (int(s) for s in args.seeds.split(",")):
        release = workdir / f"seed{seed}"
        synthesize(release, users=args.users, seed=seed)
        terms, fits = recover(release, analyses, options)
        terms["seed"] = seed
        pooled.append(terms)
        print(f"\nseed {seed}\n{summarise(terms).to_string()}\n{fits.to_string(index=False)}")
        missed = terms.loc[~terms["covered"], ["analysis", "term", "estimate", "truth", "z"]]
        print(f"not covered:\n{missed.round(3).to_string(index=False)}", flush=True)
    everything = pd.concat(pooled, ignore_index=True)
    by_seed = everything.groupby("seed")["covered"].mean().round(3).to_dict()
    print(f"\npooled over seeds {list(by_seed)}\n{summarise(everything).to_string()}")
    print(f"coverage per seed: {by_seed}")


if __name__ == "__main__":
    main()
