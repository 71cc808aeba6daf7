"""Work nobody waits for is dropped before its batch runs, over the real transports: a REST
client that disconnects, an ``X-Server-Timeout`` that passes, a cancelled gRPC call, a gRPC
deadline. A held model keeps the batch queued while that happens."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest

from perspective_local.proto import commentanalyzer_pb2 as ca
from perspective_local.proto import commentanalyzer_pb2_grpc as ca_grpc
from tests.pipelines import HeldPipeline, wait_until
from tests.servers import HOST, ServerHandle, start_server

ANALYZE = "/v1alpha1/comments:analyze"


@pytest.fixture(scope="module")
def held(default_scorer: Any) -> Iterator[tuple[ServerHandle, HeldPipeline]]:
    pipeline = HeldPipeline(default_scorer)
    handle = start_server(pipeline)
    yield handle, pipeline
    handle.stop()


def body(text: str) -> dict[str, Any]:
    return {"comment": {"text": text}, "requestedAttributes": {"TOXICITY": {}}}


def dropped(server: ServerHandle, reason: str) -> float:
    value: float = server.metrics.dropped.labels(reason)._value.get()
    return value


def keep_busy(server: ServerHandle, pipeline: HeldPipeline) -> threading.Thread:
    """A request whose batch holds the model until ``pipeline.release()``."""
    pipeline.hold()
    thread = threading.Thread(
        target=lambda: httpx.post(server.url + ANALYZE, json=body("busy"), timeout=60)
    )
    thread.start()
    wait_until(pipeline.in_forward.is_set)
    return thread


def test_a_disconnected_rest_client_is_dropped(held: tuple[ServerHandle, HeldPipeline]) -> None:
    server, pipeline = held
    before, batches = dropped(server, "cancelled"), len(pipeline.batches)
    busy = keep_busy(server, pipeline)
    payload = json.dumps(body("nobody will read this answer")).encode()
    with socket.create_connection((HOST, server.http_port)) as raw:
        raw.sendall(
            f"POST {ANALYZE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        wait_until(lambda: server.running.analyzer.batcher._queued_texts == 1)
    gone = server.metrics.requests.labels("rest", "disconnected", "499")
    wait_until(lambda: gone._value.get() >= 1)
    pipeline.release()
    busy.join(60)
    wait_until(lambda: dropped(server, "cancelled") == before + 1)
    assert len(pipeline.batches) == batches + 1  # only the busy batch ran
    assert server.running.analyzer.batcher.admitted == 0
    # The server keeps serving.
    answer = httpx.post(server.url + ANALYZE, json=body("still here"), timeout=30)
    assert answer.status_code == 200


def test_a_passed_server_timeout_answers_504_and_skips_the_model(
    held: tuple[ServerHandle, HeldPipeline],
) -> None:
    server, pipeline = held
    before, batches = dropped(server, "deadline"), len(pipeline.batches)
    busy = keep_busy(server, pipeline)
    result: dict[str, httpx.Response] = {}

    def late() -> None:
        result["late"] = httpx.post(
            server.url + ANALYZE, json=body("too late"), headers={"X-Server-Timeout": "0.1"},
            timeout=60,
        )  # fmt: skip

    thread = threading.Thread(target=late)
    thread.start()
    wait_until(lambda: server.running.analyzer.batcher._queued_texts == 1)
    threading.Event().wait(0.3)  # its deadline passes while the model is busy
    pipeline.release()
    busy.join(60)
    thread.join(60)
    answer = result["late"]
    assert answer.status_code == 504
    assert answer.json()["error"]["status"] == "DEADLINE_EXCEEDED"
    assert dropped(server, "deadline") == before + 1
    assert len(pipeline.batches) == batches + 1
    bad = httpx.post(server.url + ANALYZE, json=body("x"), headers={"X-Server-Timeout": "soon"})
    assert bad.status_code == 400 and "X-Server-Timeout" in bad.json()["error"]["message"]


def test_grpc_cancellation_and_deadline_drop_queued_work(
    held: tuple[ServerHandle, HeldPipeline],
) -> None:
    server, pipeline = held
    cancelled, late = dropped(server, "cancelled"), dropped(server, "deadline")
    batches = len(pipeline.batches)
    busy = keep_busy(server, pipeline)
    request = ca.AnalyzeCommentRequest(
        comment=ca.TextEntry(text="cancel me"),
        requested_attributes={"TOXICITY": ca.AttributeParameters()},
    )
    with grpc.insecure_channel(server.target) as channel:
        stub = ca_grpc.CommentAnalyzerStub(channel)  # type: ignore[no-untyped-call]
        call = stub.AnalyzeComment.future(request, timeout=60)
        wait_until(lambda: server.running.analyzer.batcher._queued_texts == 1)
        call.cancel()
        with pytest.raises(grpc.RpcError) as deadline:
            stub.AnalyzeComment(request, timeout=0.3)
        assert deadline.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        pipeline.release()
        busy.join(60)
        # Both were dropped (a deadline the server sees pass cancels the call as well).
        wait_until(lambda: dropped(server, "cancelled") + dropped(server, "deadline")
                   == cancelled + late + 2)  # fmt: skip
        assert len(pipeline.batches) == batches + 1
        # Answers carry where the time went, as trailing metadata.
        _, done = stub.AnalyzeComment.with_call(request, timeout=30)
        trailing = dict(done.trailing_metadata())
        ms = {
            k: float(trailing[f"x-{k}-time"])
            for k in ("tokenization", "queue", "inference", "total")
        }
        assert ms["inference"] > 0
        assert ms["tokenization"] + ms["queue"] + ms["inference"] <= ms["total"] + 0.004
