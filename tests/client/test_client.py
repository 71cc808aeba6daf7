"""Client, AsyncClient and ServerBackend against the real server."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from perspective_local.client._client import AsyncClient, Client, ServerBackend
from perspective_local.client.batch import ScoreJob, run_job
from perspective_local.errors import (
    CommentEmpty,
    InvalidRequest,
    LanguageNotSupportedByAttribute,
    NotReady,
)
from tests.servers import ServerHandle, start_server


def test_analyze_and_score_batch(server: ServerHandle) -> None:
    with Client(server.target) as client:
        result = client.analyze("You are a worthless idiot.", ["TOXICITY", "INSULT"])
        assert result["TOXICITY"] > 0.5
        assert result.attribute_scores["TOXICITY"].spans[0].begin == 0
        assert result.model_version == client.model_info().model_version
        assert result.to_dict()["attributeScores"]["INSULT"]["summaryScore"]["type"] == (
            "PROBABILITY"
        )
        batch = client.score_batch(["thanks!", "you moron"], ["TOXICITY"])
        assert len(batch) == 2 and batch.attributes == ("TOXICITY",)
        assert batch.scores[1]["TOXICITY"] > batch.scores[0]["TOXICITY"]
        assert client.list_attributes().attributes[0].name == "TOXICITY"


def test_server_errors_are_raised_as_service_classes(server: ServerHandle) -> None:
    with Client(server.target) as client:
        with pytest.raises(CommentEmpty, match=r"^Comment must be non-empty\.$"):
            client.analyze("")
        with pytest.raises(InvalidRequest, match="Unknown requested attribute: NOPE"):
            client.analyze("hello", "NOPE")
        with pytest.raises(LanguageNotSupportedByAttribute) as caught:
            client.analyze("hello", languages=["de"])
        assert caught.value.attribute == "TOXICITY"
        assert caught.value.requested_languages == ("de",)


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unavailable_is_retried_with_backoff_until_the_deadline() -> None:
    target = f"127.0.0.1:{_unused_port()}"
    with Client(target, timeout=5, max_retries=3, backoff=0.1, max_backoff=0.4) as client:
        started = time.monotonic()
        with pytest.raises(NotReady):
            client.analyze("hello")
        elapsed = time.monotonic() - started
    # Three retries wait at least 0.05 + 0.1 + 0.2 s (half of each capped backoff).
    assert 0.35 <= elapsed < 5


def test_retry_reaches_a_server_that_starts_late(default_scorer: Any) -> None:
    port = _unused_port()
    client = Client(f"127.0.0.1:{port}", timeout=60, max_retries=30, backoff=0.2, max_backoff=1)
    box: dict[str, Any] = {}

    async def call_while_starting() -> None:
        loop = asyncio.get_running_loop()
        box["future"] = loop.run_in_executor(None, client.analyze, "hello there")
        await asyncio.sleep(0.5)
        box["server"] = await loop.run_in_executor(
            None, lambda: start_server(default_scorer, grpc_port=port)
        )
        box["result"] = await box["future"]

    try:
        asyncio.run(call_while_starting())
        assert "TOXICITY" in box["result"].attribute_scores
    finally:
        client.close()
        if "server" in box:
            box["server"].stop()


def test_async_client(server: ServerHandle) -> None:
    async def main() -> None:
        async with AsyncClient(server.target) as client:
            results = await asyncio.gather(
                *(client.analyze(f"Comment {i}, you fool") for i in range(8))
            )
            assert all(r["TOXICITY"] > 0 for r in results)
            batch = await client.score_batch(["a", "b", "c"])
            assert len(batch) == 3
            with pytest.raises(CommentEmpty):
                await client.analyze(" ")

    asyncio.run(main())


def test_server_backend_runs_a_batch_job(server: ServerHandle, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        "".join(json.dumps({"text": t}) + "\n" for t in ["hi", "you idiot", "nice", ""]),
        encoding="utf-8",
    )
    job = ScoreJob(str(source), str(tmp_path / "out.jsonl"), "jsonl", "jsonl",
                   attributes=("TOXICITY",), chunk_size=2)  # fmt: skip
    backend = ServerBackend(server.target, chunk_size=2)
    try:
        report = run_job(job, backend)
    finally:
        backend.close()
    assert report.scored == 3 and len(report.bad) == 1
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [set(r["scores"]) for r in rows] == [{"TOXICITY"}] * 3
    assert rows[0]["model_version"] == server.running.analyzer.model_version
