"""The analyze command's input errors and the ELPD-LOO comparison, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import typer
from typer.testing import CliRunner

from perspective_local.analysis.cli import EXIT_BAD_INPUT, register
from perspective_local.analysis.terms import PREDICTORS


def _invoke(*args: str) -> object:
    app = typer.Typer()
    register(app)
    return CliRunner().invoke(app, list(args))


def test_missing_prism_files_exit_cleanly(tmp_path: Path) -> None:
    result = _invoke(
        "analyze",
        "--prism-dir",
        str(tmp_path),
        "--scores",
        str(tmp_path / "s.jsonl"),
        "--out",
        str(tmp_path / "o"),
    )
    assert result.exit_code == EXIT_BAD_INPUT  # type: ignore[attr-defined]
    assert "conversations.jsonl not found" in result.output  # type: ignore[attr-defined]


def test_unknown_analysis_lists_valid_names(small_release: Path, tmp_path: Path) -> None:
    result = _invoke(
        "analyze", "--prism-dir", str(small_release),
        "--scores", str(small_release / "scores.jsonl"),
        "--out", str(tmp_path), "--analyses", "vibes",
    )  # fmt: skip
    assert result.exit_code == EXIT_BAD_INPUT  # type: ignore[attr-defined]
    assert "'vibes' is not a valid analysis name; valid names: choice, score" in result.output  # type: ignore[attr-defined]


def test_unscored_texts_exit_cleanly(release_copy: Path, tmp_path: Path) -> None:
    path = release_copy / "scores.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-2]) + "\n")
    result = _invoke(
        "analyze", "--prism-dir", str(release_copy), "--scores", str(path), "--out", str(tmp_path),
    )  # fmt: skip
    assert result.exit_code == EXIT_BAD_INPUT  # type: ignore[attr-defined]
    assert "2 texts have no scores" in result.output  # type: ignore[attr-defined]


def test_score_with_loo_comparison(small_release: Path, tmp_path: Path) -> None:
    result = _invoke(
        "analyze", "--prism-dir", str(small_release),
        "--scores", str(small_release / "scores.jsonl"), "--out", str(tmp_path),
        "--analyses", "score", "--subsets", "all", "--draws", "150",
        "--tune", "150", "--chains", "2", "--no-figures",
    )  # fmt: skip
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    report = (tmp_path / "report.md").read_text()
    assert "ELPD-LOO: with vs without the LLM random effect" in report
    assert "without LLM effect" in report
    coefficients = pd.read_csv(tmp_path / "coefficients.csv")
    assert tuple(coefficients["term"]) == PREDICTORS
    assert json.loads((small_release / "truth.json").read_text())["users"] == 40
