"""The composition root as a process: the serve command, settings, and SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import typer
from typer.testing import CliRunner

from perspective_local.cli.serve import register

SERVE = """
import asyncio
from perspective_local.service.app import serve
from perspective_local.settings import Settings
asyncio.run(serve(Settings.load(host="127.0.0.1", grpc_port=0, http_port=0, device="cpu")))
"""


def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command()
    def other() -> None:  # a second command, so "serve" is a subcommand as in the real CLI
        """Unused."""

    return app


def test_show_settings_merges_file_env_and_flags(tmp_path: Path) -> None:
    config = tmp_path / "server.toml"
    config.write_text('grpc_port = 6000\nmax_batch_size = 16\napi_keys = ["sekret"]\n')
    result = CliRunner().invoke(
        cli(),
        ["serve", "--config", str(config), "--http-port", "9000", "--show-settings"],
        env={"PERSPECTIVE_LOCAL_MAX_WAIT_MS": "7"},
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert (shown["grpc_port"], shown["http_port"], shown["max_wait_ms"]) == (6000, 9000, 7.0)
    assert shown["max_batch_texts"] == 16 and shown["host"] == "127.0.0.1"
    assert shown["api_keys"] == ["se***"]


def test_forward_batch_size_is_its_own_setting() -> None:
    """--batch-size (windows per forward pass) and the batch budget (tokens per model batch)
    differ; no text count bounds a batch unless asked."""
    result = CliRunner().invoke(
        cli(), ["serve", "--batch-size", "8", "--max-batch-tokens", "4096", "--show-settings"]
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert (shown["forward_batch_windows"], shown["max_batch_tokens"]) == (8, 4096)
    assert shown["max_batch_texts"] is None and shown["max_wait_ms"] == 0


def test_batching_flags_carry_units_and_keep_their_old_names() -> None:
    new = CliRunner().invoke(
        cli(), ["serve", "--max-batch-texts", "16", "--max-admitted-texts", "64", "--show-settings"]
    )
    old = CliRunner().invoke(
        cli(), ["serve", "--max-batch-size", "16", "--max-queue", "64", "--show-settings"]
    )
    for result in (new, old):
        assert result.exit_code == 0, result.output
        shown = json.loads(result.output)
        assert (shown["max_batch_texts"], shown["max_admitted_texts"]) == (16, 64)


def test_bad_settings_exit_with_usage_error() -> None:
    result = CliRunner().invoke(
        cli(), ["serve", "--max-queue", "4", "--max-batch-texts", "8", "--show-settings"]
    )
    assert result.exit_code == 2
    assert "max_admitted_texts (4) must be at least max_batch_texts (8)" in result.output


def test_sigterm_stops_the_server_gracefully() -> None:
    env = {**os.environ, "PERSPECTIVE_LOCAL_CONFIG": ""}
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # printed once the model is warm
        assert "serving model" in line, process.stderr.read() if process.stderr else line
        http_url = line.rsplit("HTTP ", 1)[1].strip()
        assert httpx.get(f"{http_url}/healthz", timeout=10).json()["status"] == "SERVING"
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert time.monotonic() - started < 15
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
