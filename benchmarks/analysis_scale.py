"""Wall time and peak memory of analyses 1a and 1b on PRISM-sized synthetic data.

Writes a synthetic release of PRISM's size (about 1,400 users, 8,000 conversations,
30,000 opening-turn responses), then fits analysis 1a (choice) and 1b (score) on all data
with the paper's sampler settings (4 chains x 1,000 warm-up + 1,000 draws), one process per
analysis so each peak memory is its own. The targets on a 2-core machine: 1a under 5
minutes, 1b under 2 minutes. ``--analyses profiles`` also times the per-user random-slope
choice model (with covariates) on a release of the same size with planted profiles, and
prints the coverage of its per-user intervals.

    python benchmarks/analysis_scale.py [--users 1400] [--draws 1000] [--tune 1000]
        [--chains 4] [--analyses choice,score,profiles] [--seed 0] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _fit_profiles(prism_dir: Path, draws: int, tune: int, chains: int) -> dict[str, object]:
    """The random-slope choice model (with covariates) on a release with planted profiles."""
    import warnings

    import numpy as np

    from perspective_local.analysis import profiles
    from perspective_local.analysis.prism import load_prism
    from perspective_local.analysis.scores import attach_scores, read_scores_file
    from perspective_local.analysis.specs import SamplerOptions
    from perspective_local.analysis.terms import PREDICTORS

    warnings.simplefilter("ignore")
    data = load_prism(prism_dir)
    table = attach_scores(data, read_scores_file(prism_dir / "scores.jsonl"))
    sets = profiles.ChoiceSets.from_table(table, data.users)
    started = time.perf_counter()
    fit = profiles.fit_profiles(
        sets, SamplerOptions(draws=draws, tune=tune, chains=chains), covariates=True
    )
    seconds = time.perf_counter() - started
    truth = json.loads((prism_dir / "truth.json").read_text())["profiles"]
    table = profiles.user_profiles(fit)
    pairs = zip(table["user_id"], table["attribute"], strict=True)
    planted = np.array([truth["users"][u][a] for u, a in pairs])
    covered = (table["lower"] <= planted) & (planted <= table["upper"])
    summary = profiles.population_summary(fit)
    sd = np.array([truth["sd"][a] for a in PREDICTORS])
    sd_covered = (np.array(summary["sd"]["lower"]) <= sd) & (sd <= np.array(summary["sd"]["upper"]))
    import arviz as az

    diagnostics = az.summary(fit.idata, var_names=["weight", "sd", "covariate_weight"],
                             kind="diagnostics")  # fmt: skip
    return {
        "analysis": "profiles",
        "conversations": sets.n,
        "users": len(sets.users),
        "fit_seconds": round(seconds, 1),
        "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2),
        "user_weight_coverage_90": round(float(covered.mean()), 3),
        "sd_coverage_90": f"{int(sd_covered.sum())}/{len(sd)}",
        "max_rhat": round(float(diagnostics["r_hat"].max()), 3),
        "min_ess_bulk": int(diagnostics["ess_bulk"].min()),
        "sampler": fit.idata["posterior"].attrs.get("sampler"),
    }


def _fit_one(
    prism_dir: Path, analysis: str, draws: int, tune: int, chains: int
) -> dict[str, object]:
    import warnings

    if analysis == "profiles":
        return _fit_profiles(prism_dir, draws, tune, chains)

    from perspective_local.analysis import hypotheses, specs
    from perspective_local.analysis.prism import load_prism
    from perspective_local.analysis.scores import attach_scores, read_scores_file

    warnings.simplefilter("ignore", FutureWarning)
    data = load_prism(prism_dir)
    table = attach_scores(data, read_scores_file(prism_dir / "scores.jsonl"))
    spec = specs.get_analysis(analysis)
    design = specs.design(spec, table, data.users)
    started = time.perf_counter()
    idata = specs.fit(spec, design, specs.SamplerOptions(draws=draws, tune=tune, chains=chains))
    seconds = time.perf_counter() - started
    truth = json.loads((prism_dir / "truth.json").read_text())["expected"][analysis]
    coefficients = hypotheses.hypothesis_table(idata)
    covered = [
        lo <= truth[term] <= hi
        for term, lo, hi in zip(
            coefficients["term"], coefficients["ci_lower"], coefficients["ci_upper"], strict=True
        )
    ]
    conv = hypotheses.convergence(idata)
    return {
        "analysis": analysis,
        "rows": design.n,
        "users": len(design.levels["user"]),
        "conversations": len(design.levels["conversation"]),
        "fit_seconds": round(seconds, 1),
        # ru_maxrss is KiB on Linux.
        "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2),
        "coverage_90": f"{sum(covered)}/{len(covered)}",
        "max_rhat": round(float(conv["r_hat"].max()), 3),
        "min_ess_bulk": int(conv["ess_bulk"].min()),
        "divergences": conv.attrs["divergences"],
        "sampler": idata.posterior.attrs.get("sampler"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1400)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--analyses", default="choice,score")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--child", nargs=2, metavar=("PRISM_DIR", "ANALYSIS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()

    if args.child:
        result = _fit_one(Path(args.child[0]), args.child[1], args.draws, args.tune, args.chains)
        print(json.dumps(result))
        return

    from perspective_local.analysis.synth import synthesize

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="prism_scale_"))
    started = time.perf_counter()
    truth = synthesize(workdir, users=args.users, seed=args.seed)
    print(
        f"synthetic PRISM: {truth['users']} users, {truth['conversations']} conversations, "
        f"{truth['opening_responses']} opening responses "
        f"({time.perf_counter() - started:.0f} s) in {workdir}",
        flush=True,
    )
    analyses = args.analyses.split(",")
    if "profiles" in analyses:
        synthesize(workdir / "profiles", users=args.users, seed=args.seed, profiles=True)
    for analysis in analyses:
        started = time.perf_counter()
        source = workdir / "profiles" if analysis == "profiles" else workdir
        child = subprocess.run(
            [sys.executable, __file__, "--child", str(source), analysis,
             "--draws", str(args.draws), "--tune", str(args.tune), "--chains", str(args.chains)],
            capture_output=True, text=True,
        )  # fmt: skip
        if child.returncode != 0:
            sys.exit(f"{analysis} failed (exit {child.returncode}):\n{child.stderr[-4000:]}")
        result = json.loads(child.stdout.strip().splitlines()[-1])
        result["wall_seconds_incl_load_compile"] = round(time.perf_counter() - started, 1)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
