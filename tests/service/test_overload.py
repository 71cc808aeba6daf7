"""Backpressure over the wire: a full queue answers 429 / RESOURCE_EXHAUSTED, then recovers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest

from perspective_local.proto import commentanalyzer_pb2 as ca
from perspective_local.proto import commentanalyzer_pb2_grpc as ca_grpc
from perspective_local.proto import perspective_local_v1_pb2 as pl
from perspective_local.proto import perspective_local_v1_pb2_grpc as pl_grpc
from tests.servers import ServerHandle, start_server

# About 1,000 tokens each: several windows, so the model is busy for a noticeable while.
LONG = " ".join(f"word{i} is a rather long comment" for i in range(100))


@pytest.fixture(scope="module")
def tiny_queue(default_scorer: Any) -> Iterator[ServerHandle]:
    handle = start_server(default_scorer, max_batch_texts=2, max_admitted_texts=2, max_wait_ms=0)
    yield handle
    handle.stop()


def test_full_queue_is_refused_on_both_transports(tiny_queue: ServerHandle) -> None:
    batcher = tiny_queue.running.analyzer.batcher
    with grpc.insecure_channel(tiny_queue.target) as channel:
        local = pl_grpc.PerspectiveLocalStub(channel)
        analyzer = ca_grpc.CommentAnalyzerStub(channel)
        refused = None
        for _ in range(5):  # bounded: the busy window is long, one try normally suffices
            busy = local.ScoreBatch.future(pl.ScoreBatchRequest(texts=[LONG, LONG]), timeout=60)
            deadline = time.monotonic() + 5
            while batcher.admitted < 2 and time.monotonic() < deadline:
                time.sleep(0.001)
            body = {"comment": {"text": "hello"}, "requestedAttributes": {"TOXICITY": {}}}
            rest = httpx.post(f"{tiny_queue.url}/v1alpha1/comments:analyze", json=body, timeout=30)
            with pytest.raises(grpc.RpcError) as caught:
                analyzer.AnalyzeComment(
                    ca.AnalyzeCommentRequest(
                        comment=ca.TextEntry(text="hello"),
                        requested_attributes={"TOXICITY": ca.AttributeParameters()},
                    ),
                    timeout=30,
                )
            still_busy = not busy.done()
            assert len(busy.result().results) == 2  # the admitted work still completes
            if still_busy:
                refused = (rest, caught.value)
                break
        assert refused is not None, "the model finished before the second request arrived"
        rest, error = refused
        assert rest.status_code == 429
        envelope = rest.json()["error"]
        assert envelope["status"] == "RESOURCE_EXHAUSTED"
        assert envelope["details"][0]["reason"] == "RATE_LIMIT_EXCEEDED"
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        # Once the queue drains, the server serves again.
        ok = local.ScoreBatch(pl.ScoreBatchRequest(texts=["fine now"]), timeout=30)
        assert len(ok.results) == 1
    metrics = httpx.get(f"{tiny_queue.url}/metrics", timeout=10).text
    (line,) = [m for m in metrics.splitlines() if m.startswith("perspective_overloaded_total")]
    assert float(line.split()[1]) >= 2


def test_too_many_texts_for_the_queue_is_refused_with_advice(tiny_queue: ServerHandle) -> None:
    with (
        grpc.insecure_channel(tiny_queue.target) as channel,
        pytest.raises(grpc.RpcError) as caught,
    ):
        pl_grpc.PerspectiveLocalStub(channel).ScoreBatch(
            pl.ScoreBatchRequest(texts=["a", "b", "c"]), timeout=30
        )
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "Send fewer texts per call" in caught.value.details()
