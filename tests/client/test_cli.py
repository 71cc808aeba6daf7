"""The command line, driven like a function with Typer's runner, on the real models."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from perspective_local import __version__
from perspective_local.cli import app
from perspective_local.models.attributes import ATTRIBUTE_NAMES
from tests.conftest import TINY_CORPORA

runner = CliRunner()


def test_score_jsonl_with_the_tiny_model(write_jsonl, tiny_model_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = write_jsonl("in.jsonl", [{"id": 1, "text": "hello"}, {"text": ""}, {"text": "hi"}])
    out = tmp_path / "out.jsonl"
    args = ["score", str(src), "-o", str(out), "--model-dir", str(tiny_model_dir),
            "--attributes", "toxicity,threat", "--no-progress"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [1, 3]
    assert set(rows[0]["scores"]) == {"TOXICITY", "THREAT"}
    assert "record at line 2: field 'text' is empty" in result.output
    again = runner.invoke(app, args)
    assert "scored 0 records" in again.output and "2 already in" in again.output


def test_score_fail_fast_exits_2(write_jsonl, tiny_model_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = write_jsonl("in.jsonl", [{"text": "ok"}, {"text": None}])
    result = runner.invoke(
        app,
        ["score", str(src), "-o", str(tmp_path / "o.jsonl"), "--fail-fast", "--no-progress",
         "--model-dir", str(tiny_model_dir)],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "line 2: field 'text' must be a string, got NoneType" in result.output


def test_score_stdin_to_stdout_with_the_default_model() -> None:
    result = runner.invoke(
        app,
        ["score", "-", "-o", "-", "--no-progress", "--attributes", "INSULT"],
        input='{"text": "You are a pathetic idiot."}\n{"text": "Lovely photo, thanks!"}\n',
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [list(r["scores"]) for r in lines] == [["INSULT"], ["INSULT"]]
    assert lines[0]["scores"]["INSULT"] > lines[1]["scores"]["INSULT"]


def test_score_rejects_bad_options_before_loading_a_model(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "x"}\n')
    unknown = runner.invoke(app, ["score", str(src), "-o", "o.jsonl", "--attributes", "TOXIC"])
    assert unknown.exit_code == 2 and "Unknown attribute 'TOXIC'" in unknown.output
    suffix = runner.invoke(app, ["score", str(src), "-o", "out.txt"])
    assert suffix.exit_code == 2 and "Cannot tell the format" in suffix.output
    device = runner.invoke(app, ["score", str(src), "-o", "o.jsonl", "--device", "gpu"])
    assert device.exit_code == 2 and "device: 'gpu'" in device.output


def test_attributes_lists_the_registry() -> None:
    table = runner.invoke(app, ["attributes"])
    assert table.exit_code == 0
    assert all(name in table.output for name in ATTRIBUTE_NAMES)
    as_json = json.loads(runner.invoke(app, ["attributes", "--json"]).output)
    assert [row["name"] for row in as_json] == list(ATTRIBUTE_NAMES)


def test_version_names_package_and_model() -> None:
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0
    assert f"perspective-local {__version__}" in result.output
    from perspective_local.models.artifact import DEFAULT_MODEL_DIR, load_manifest

    assert f"default model {load_manifest(DEFAULT_MODEL_DIR).model_version}" in result.output


def test_train_command_on_tiny_corpora(tiny_corpora: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["train", "--out", str(tmp_path / "m"), "--data-dir", str(tiny_corpora),
         "--corpora", ",".join(TINY_CORPORA), "--no-cache"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "wrote minilm-l6-distilled@" in result.output
    assert "TOXICITY: n=" in result.output
    bad = runner.invoke(app, ["train", "--out", str(tmp_path / "x"), "--corpora", "nope"])
    assert bad.exit_code == 2 and "Unknown corpora nope" in bad.output


def test_score_through_a_running_server(write_jsonl, server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from perspective_local.models.backends.heads import HeadsBackend

    texts = ["You are a pathetic idiot.", "Lovely photo, thanks!"]
    src = write_jsonl("in.jsonl", [{"id": i, "text": t} for i, t in enumerate(texts)])
    out = tmp_path / "out.jsonl"
    args = ["score", str(src), "-o", str(out), "--server", server.target, "--no-progress",
            "--attributes", "TOXICITY"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    local = HeadsBackend.default(device="cpu").score(texts, ["TOXICITY"])
    assert rows[0]["model_version"] == local.model_version
    for row, expected in zip(rows, local, strict=True):
        assert row["scores"]["TOXICITY"] == pytest.approx(expected["TOXICITY"], abs=1e-4)


def test_score_with_an_unreachable_server_exits_4(write_jsonl, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    src = write_jsonl("in.jsonl", [{"text": "hi"}])
    result = runner.invoke(
        app, ["score", str(src), "-o", str(tmp_path / "o.jsonl"), "--server", f"127.0.0.1:{port}"]
    )
    assert result.exit_code == 4 and "unreachable" in result.output
