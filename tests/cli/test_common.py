"""What every command shares: exit codes, one settings loader (which sets up logging), enum
choices, and one line for a missing optional extra."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from perspective_local.cli import app
from perspective_local.cli.common import (
    ExitCode,
    extra_for,
    missing_extra_message,
    missing_module,
)
from perspective_local.logs import JsonFormatter, configure_logging

runner = CliRunner()


@pytest.fixture
def restore_logging() -> Iterator[logging.Logger]:
    logger = logging.getLogger("perspective_local")
    yield logger
    configure_logging("WARNING", "text")


def test_exit_codes_are_the_documented_ones() -> None:
    assert {code.name: int(code) for code in ExitCode} == {
        "OK": 0, "FAILED": 1, "USAGE": 2, "REJECTED": 3, "UNREACHABLE": 4,
    }  # fmt: skip


def test_models_list_configures_logging_from_the_settings_file(
    tmp_path: Path, restore_logging: logging.Logger
) -> None:
    config = tmp_path / "settings.toml"
    config.write_text(f'log_format = "json"\nlog_level = "INFO"\ncache_dir = "{tmp_path}"\n')
    result = runner.invoke(app, ["models", "list", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    (handler,) = restore_logging.handlers
    assert isinstance(handler.formatter, JsonFormatter)
    assert restore_logging.level == logging.INFO


def test_root_log_flags_reach_every_command(
    tmp_path: Path, restore_logging: logging.Logger
) -> None:
    result = runner.invoke(
        app,
        ["--log-level", "debug", "--log-format", "json", "models", "list"],
        env={"PERSPECTIVE_LOCAL_CACHE_DIR": str(tmp_path), "PERSPECTIVE_LOCAL_CONFIG": ""},
    )
    assert result.exit_code == 0, result.output
    assert isinstance(restore_logging.handlers[0].formatter, JsonFormatter)
    assert restore_logging.level == logging.DEBUG


def test_a_bad_settings_file_is_one_line_and_a_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_text('device = "gpu"\n')
    for args in (["models", "list"], ["evaluate", "--no-suite"], ["score", "-", "-o", "-"]):
        result = runner.invoke(app, [*args, "--config", str(config)])
        assert result.exit_code == ExitCode.USAGE, (args, result.output)
        assert result.output.strip().splitlines() == [
            "error: device: 'gpu' is not auto, cpu, cuda or cuda:N"
        ]


def test_evaluate_with_nothing_to_evaluate_is_a_usage_error() -> None:
    result = runner.invoke(app, ["evaluate", "--no-suite"], env={"PERSPECTIVE_LOCAL_CONFIG": ""})
    assert result.exit_code == ExitCode.USAGE
    assert "nothing to evaluate" in result.output


def test_choices_are_enums(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "x"}\n')
    fmt = runner.invoke(app, ["score", str(src), "-o", "o.jsonl", "--input-format", "xml"])
    assert fmt.exit_code == ExitCode.USAGE and "'xml' is not one of" in fmt.output
    refit = runner.invoke(app, ["train", "--out", str(tmp_path), "--finetune-refit", "some"])
    assert refit.exit_code == ExitCode.USAGE and "'some' is not one of" in refit.output
    level = runner.invoke(app, ["--log-format", "xml", "version"])
    assert level.exit_code == ExitCode.USAGE


def test_finetune_repeat_names_a_training_corpus_and_a_count(tmp_path: Path) -> None:
    for value, message in [
        ("reddit=2", "'reddit' is not a training corpus"),
        ("bluesky=0", "TIMES must be a whole number of 1 or more"),
        ("bluesky", "TIMES must be a whole number of 1 or more"),
    ]:
        args = ["train", "--out", str(tmp_path), "--finetune", "--finetune-repeat", value]
        result = runner.invoke(app, args)
        assert result.exit_code == ExitCode.USAGE, (value, result.output)
        assert message in result.output


def test_a_missing_module_maps_to_its_extra() -> None:
    assert missing_module(ModuleNotFoundError("No module named 'pymc'", name="pymc")) == "pymc"
    assert missing_module(ModuleNotFoundError("x", name="sklearn.linear_model")) == "sklearn"
    assert missing_module(ImportError("No module named 'arviz.stats'")) == "arviz"
    assert missing_module(ModuleNotFoundError("x", name="not_optional")) is None
    assert missing_module(ValueError("nope")) is None
    # torch's ONNX exporter raises its own error from the ImportError.
    try:
        try:
            raise ModuleNotFoundError("No module named 'onnx'", name="onnx")
        except ImportError as exc:
            raise RuntimeError("Module onnx is not installed!") from exc
    except RuntimeError as wrapped:
        assert missing_module(wrapped) == "onnx"
    assert extra_for("scipy") == "train" and extra_for("scipy", "analysis") == "analysis"
    assert extra_for("torch", "onnx") == "server"
    assert missing_extra_message("models export-onnx", "onnx", "onnx") == (
        "models export-onnx needs the [onnx] extra: pip install 'perspective-local[onnx]' "
        "(missing module onnx)"
    )


def test_export_onnx_without_the_onnx_extra_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` now raises ImportError
    result = runner.invoke(
        app, ["models", "export-onnx", "--out", str(tmp_path / "onnx"), "--no-check"]
    )
    assert result.exit_code == ExitCode.USAGE
    assert result.output.strip().splitlines() == [
        "error: models export-onnx needs the [onnx] extra: "
        "pip install 'perspective-local[onnx]' (missing module onnx)"
    ]
    assert not (tmp_path / "onnx").exists()


def test_analyze_without_the_analysis_extra_is_one_line(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "sys.modules['pandas'] = None\n"
        "from perspective_local.cli import main\n"
        f"sys.argv = ['perspective-local', 'analyze', '--prism-dir', {str(tmp_path)!r},\n"
        f"            '--out', {str(tmp_path / 'out')!r}]\n"
        "main()\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.returncode == ExitCode.USAGE, run.stderr
    assert run.stderr.strip().splitlines() == [
        "error: analyze needs the [analysis] extra: pip install 'perspective-local[analysis]' "
        "(missing module pandas)"
    ]
