"""The analyze command through the CLI: input errors, the ELPD-LOO comparison, and scoring
through a real server on a loopback port."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pandas as pd
import typer
from typer.testing import CliRunner

from perspective_local.analysis.terms import PREDICTORS
from perspective_local.cli.analyze import register
from perspective_local.cli.common import ExitCode
from perspective_local.client import Client


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
    assert result.exit_code == ExitCode.USAGE  # type: ignore[attr-defined]
    assert "conversations.jsonl not found" in result.output  # type: ignore[attr-defined]


def test_unknown_analysis_lists_valid_names(small_release: Path, tmp_path: Path) -> None:
    result = _invoke(
        "analyze", "--prism-dir", str(small_release),
        "--scores", str(small_release / "scores.jsonl"),
        "--out", str(tmp_path), "--analyses", "vibes",
    )  # fmt: skip
    assert result.exit_code == ExitCode.USAGE  # type: ignore[attr-defined]
    assert "'vibes' is not a valid analysis name; valid names: choice, score" in result.output  # type: ignore[attr-defined]


def test_unscored_texts_exit_cleanly(release_copy: Path, tmp_path: Path) -> None:
    path = release_copy / "scores.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-2]) + "\n")
    result = _invoke(
        "analyze", "--prism-dir", str(release_copy), "--scores", str(path), "--out", str(tmp_path),
    )  # fmt: skip
    assert result.exit_code == ExitCode.USAGE  # type: ignore[attr-defined]
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
    html = (tmp_path / "report.html").read_text()  # written with --no-figures too
    assert "ELPD-LOO: with vs without the LLM random effect" in html
    assert '<th scope="row">without LLM effect</th>' in html
    coefficients = pd.read_csv(tmp_path / "coefficients.csv")
    assert tuple(coefficients["term"]) == PREDICTORS
    assert json.loads((small_release / "truth.json").read_text())["users"] == 40


def test_scores_through_a_running_server(small_release: Path, tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    """Without --scores, --server scores every prompt and response through gRPC ScoreBatch."""
    result = _invoke(
        "analyze", "--prism-dir", str(small_release), "--server", server.target,
        "--out", str(tmp_path), "--analyses", "score", "--subsets", "all", "--draws", "100",
        "--tune", "100", "--chains", "1", "--no-loo", "--no-figures",
    )  # fmt: skip
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert f"through the server at {server.target}" in result.output  # type: ignore[attr-defined]
    report = (tmp_path / "report.md").read_text()
    with Client(server.target) as client:
        version = client.model_info().model_version
    assert f"- scoring_model_version: `{version}`" in report
    coefficients = pd.read_csv(tmp_path / "coefficients.csv")
    assert tuple(coefficients["term"]) == PREDICTORS
    assert coefficients["estimate"].notna().all()


def test_unreachable_server_exits_4(small_release: Path, tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = _invoke(
        "analyze", "--prism-dir", str(small_release), "--server", f"127.0.0.1:{port}",
        "--out", str(tmp_path), "--analyses", "score", "--subsets", "all",
    )  # fmt: skip
    assert result.exit_code == ExitCode.UNREACHABLE, result.output  # type: ignore[attr-defined]
    assert f"server 127.0.0.1:{port}" in result.output  # type: ignore[attr-defined]
    assert not (tmp_path / "coefficients.csv").exists()


def test_in_process_scoring_uses_the_settings_file(small_release: Path, tmp_path: Path) -> None:
    """Without --scores or --server, texts are scored by the model the settings file names
    (here a renamed copy of the packaged model, so its version tells the two apart)."""
    import shutil

    from perspective_local.models.artifact import DEFAULT_MODEL_DIR, load_manifest

    model = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, model)
    manifest = json.loads((model / "manifest.json").read_text())
    manifest["name"] = "settings-test"
    (model / "manifest.json").write_text(json.dumps(manifest))
    version = load_manifest(model).model_version
    assert version.startswith("settings-test@")
    config = tmp_path / "settings.toml"
    config.write_text(f'model_dir = "{model}"\ndevice = "cpu"\nforward_batch_windows = 64\n')
    out = tmp_path / "out"
    result = _invoke(
        "analyze", "--prism-dir", str(small_release), "--config", str(config),
        "--out", str(out), "--analyses", "score", "--subsets", "all", "--draws", "50",
        "--tune", "50", "--chains", "1", "--no-loo", "--no-figures",
    )  # fmt: skip
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "in-process" in result.output  # type: ignore[attr-defined]
    # The default backends (auto) serve it through ONNX Runtime on a CPU when it is installed.
    from perspective_local.models.routing import auto_kind

    served = f"{version}+onnx-fp32" if auto_kind("cpu") == "onnx" else version
    assert f"- scoring_model_version: `{served}`" in (out / "report.md").read_text()


def test_prism_texts_writes_each_text_to_score_once(small_release: Path, tmp_path: Path) -> None:
    from perspective_local.analysis.prism import load_prism
    from perspective_local.analysis.scores import read_scores_file, texts_to_score

    out = tmp_path / "texts.jsonl"
    result = _invoke("prism", "texts", "--prism-dir", str(small_release), "-o", str(out))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    written = [json.loads(line)["text"] for line in out.read_text().splitlines()]
    assert written == texts_to_score(load_prism(small_release))
    assert len(set(written)) == len(written)
    # Every text the study's scores file holds for this release is among them.
    assert set(read_scores_file(small_release / "scores.jsonl").by_text) >= set(written)
    missing = _invoke("prism", "texts", "--prism-dir", str(tmp_path / "none"))
    assert missing.exit_code != 0  # type: ignore[attr-defined]
    assert "conversations.jsonl not found" in missing.output  # type: ignore[attr-defined]
