"""Parameter recovery: the whole pipeline, from synthetic PRISM files to coefficients.csv.

``perspective-local prism synth`` writes 300 users with planted effects; ``analyze`` fits all
five analyses on all data with real PyMC sampling (few draws, to stay within minutes); the
90% intervals must cover most expected coefficients, no estimate may be far from its
expected value, and every sign that matters must be recovered.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from perspective_local.cli.analyze import register

USERS = 300
#: The issue asks that 90% intervals cover at least 90% of terms. With nominal 90% intervals
#: that holds for about half of all data sets (more so when analyses share one data set), so
#: a fixed-seed test of it would pass or fail by the seed. This test holds a floor a correct
#: fit clears with high probability, a bound on the RMS error in posterior SDs (about 1 for
#: calibrated intervals, about 2 for intervals half as wide as they should be), and a bound
#: on every term's error that catches wrong signs, scales and names. The exact rate is
#: printed; benchmarks/analysis_recovery.py reports it pooled over several releases (0.910
#: over five releases of 300 users, each of them 0.90-0.93; this release gives 0.90).
MIN_COVERAGE = 0.85
MAX_RMS_ERROR_IN_SDS = 1.4
MAX_ERROR_IN_SDS = 4.0
SIGN_THRESHOLD = 0.5


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def _synth_and_analyze(
    root: Path, draws: int, tune: int, chains: int
) -> tuple[pd.DataFrame, dict, Path]:  # type: ignore[type-arg]
    prism, out = root / "prism", root / "out"
    runner = CliRunner()
    synth = ["prism", "synth", "--out", str(prism), "--users", str(USERS), "--seed", "11"]
    result = runner.invoke(_app(), synth)
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        _app(),
        [
            "analyze", "--prism-dir", str(prism), "--scores", str(prism / "scores.jsonl"),
            "--out", str(out), "--subsets", "all", "--draws", str(draws), "--tune", str(tune),
            "--chains", str(chains), "--no-loo",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    coefficients = pd.read_csv(out / "coefficients.csv", keep_default_na=False)
    truth = json.loads((prism / "truth.json").read_text())
    return coefficients, truth, out


@pytest.fixture(scope="module")
def recovered(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, dict, Path]:  # type: ignore[type-arg]
    return _synth_and_analyze(tmp_path_factory.mktemp("recovery"), draws=200, tune=200, chains=2)


def _with_truth(coefficients: pd.DataFrame, truth: dict) -> pd.DataFrame:  # type: ignore[type-arg]
    rows = []
    for analysis, expected in truth["expected"].items():
        part = coefficients[coefficients["analysis"] == analysis].copy()
        assert set(part["term"]) == set(expected), analysis
        part["truth"] = part["term"].map(expected)
        rows.append(part)
    table = pd.concat(rows)
    table["covered"] = (table["ci_lower"] <= table["truth"]) & (table["truth"] <= table["ci_upper"])
    return table


def test_intervals_cover_the_planted_coefficients(recovered) -> None:  # type: ignore[no-untyped-def]
    coefficients, truth, _ = recovered
    table = _with_truth(coefficients, truth)
    per_analysis = table.groupby("analysis")["covered"].mean().round(3).to_dict()
    errors = (table["estimate"] - table["truth"]).abs() / table["est_error"]
    rms = float(np.sqrt((errors**2).mean()))
    print(
        f"90% interval coverage: {table['covered'].mean():.3f} overall, {per_analysis}; "
        f"RMS error {rms:.2f} posterior SDs"
    )
    assert table["covered"].mean() >= MIN_COVERAGE, per_analysis
    assert rms <= MAX_RMS_ERROR_IN_SDS
    worst = table.assign(error=errors).sort_values("error").iloc[-1]
    assert errors.max() < MAX_ERROR_IN_SDS, worst.to_dict()


def test_large_effects_have_the_right_sign(recovered) -> None:  # type: ignore[no-untyped-def]
    coefficients, truth, _ = recovered
    table = _with_truth(coefficients, truth)
    large = table[table["truth"].abs() >= SIGN_THRESHOLD]
    assert len(large) >= 10
    wrong = large[(large["estimate"] > 0) != (large["truth"] > 0)]
    assert wrong.empty, wrong[["analysis", "term", "estimate", "truth"]].to_string()


def test_outputs_are_written(recovered) -> None:  # type: ignore[no-untyped-def]
    coefficients, _, out = recovered
    assert list(coefficients.columns) == [
        "analysis", "subset", "term", "estimate", "est_error", "ci_lower", "ci_upper",
        "evid_ratio", "post_prob", "star",
    ]  # fmt: skip
    assert set(coefficients["analysis"]) == {
        "choice",
        "score",
        "interaction",
        "moderation",
        "mirroring",
    }
    assert set(coefficients["star"]) <= {"*", "†", ""}
    report = (out / "report.md").read_text()
    assert "Analysis 1a" in report and "paper [5%, 95%]" in report
    assert "1.036 [0.888, 1.185]" in report  # the paper's REASONING_NUANCE, beside ours
    assert "responses dropped: prompt or response is EMPTY STRING" in report
    for name in ("choice_all.png", "score_all.png", "mirroring_all.png"):
        assert (out / "figures" / name).stat().st_size > 1000
    assert (out / "convergence.csv").is_file()


@pytest.mark.slow
def test_recovery_with_the_papers_sampler_settings(tmp_path: Path) -> None:
    """The same checks with 4 chains x 1,000 warm-up + 1,000 draws (about 15 minutes)."""
    coefficients, truth, _ = _synth_and_analyze(tmp_path, draws=1000, tune=1000, chains=4)
    table = _with_truth(coefficients, truth)
    per_analysis = table.groupby("analysis")["covered"].mean().round(3).to_dict()
    print(f"90% interval coverage: {table['covered'].mean():.3f} overall, {per_analysis}")
    assert table["covered"].mean() >= MIN_COVERAGE, per_analysis
    large = table[table["truth"].abs() >= SIGN_THRESHOLD]
    assert ((large["estimate"] > 0) == (large["truth"] > 0)).all()
