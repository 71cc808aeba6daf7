"""A server over routed backends: heads for most attributes, a Detoxify checkpoint for some."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from perspective_local.models.backends.detoxify import DetoxifyBackend
from perspective_local.models.routing import RoutedBackend
from perspective_local.proto import perspective_local_v1_pb2 as pl
from perspective_local.proto import perspective_local_v1_pb2_grpc as pl_grpc
from tests.models.tiny_detoxify import build_tiny_detoxify
from tests.servers import ServerHandle, start_server


@pytest.fixture(scope="module")
def detoxify(tmp_path_factory: pytest.TempPathFactory) -> DetoxifyBackend:
    directory, _ = build_tiny_detoxify(tmp_path_factory.mktemp("dx") / "unbiased", "roberta")
    return DetoxifyBackend(directory, device="cpu")


@pytest.fixture(scope="module")
def routed_server(tiny_scorer: Any, detoxify: DetoxifyBackend) -> Iterator[ServerHandle]:
    routes = {"TOXICITY": "detoxify", "SEXUALLY_EXPLICIT": "detoxify"}
    scorer = RoutedBackend([tiny_scorer, detoxify], routes)
    handle = start_server(scorer)
    yield handle
    handle.stop()


def analyze(server: ServerHandle, attribute: str) -> httpx.Response:
    body = {"comment": {"text": "you are an idiot"}, "requestedAttributes": {attribute: {}}}
    return httpx.post(f"{server.url}/v1alpha1/comments:analyze", json=body, timeout=30)


def test_each_attribute_is_scored_by_its_routed_backend(
    routed_server: ServerHandle, detoxify: DetoxifyBackend, tiny_scorer: Any
) -> None:
    for attribute, backend in (("TOXICITY", detoxify), ("SEXUALLY_EXPLICIT", detoxify),
                               ("INSULT", tiny_scorer)):  # fmt: skip
        answer = analyze(routed_server, attribute)
        assert answer.status_code == 200, answer.text
        value = answer.json()["attributeScores"][attribute]["summaryScore"]["value"]
        assert value == pytest.approx(backend.score("you are an idiot")[0][attribute], abs=1e-5)


def test_introspection_reports_backends(routed_server: ServerHandle, detoxify: Any) -> None:
    with grpc.insecure_channel(routed_server.target) as channel:
        stub = pl_grpc.PerspectiveLocalStub(channel)
        listed = stub.ListAttributes(pl.ListAttributesRequest(), timeout=10)
        info = stub.GetModelInfo(pl.GetModelInfoRequest(), timeout=10)
    backend_of = {a.name: a.backend for a in listed.attributes}
    assert backend_of["TOXICITY"] == backend_of["SEXUALLY_EXPLICIT"] == "detoxify"
    assert backend_of["REASONING_EXPERIMENTAL"] == "heads"
    assert dict(info.attribute_backends) == backend_of
    assert [b.kind for b in info.backends] == ["heads", "detoxify"]
    assert info.backends[1].model_version == detoxify.model_version
    assert detoxify.model_version in info.model_version


def test_an_attribute_no_backend_serves_is_a_perspective_error(
    detoxify: DetoxifyBackend,
) -> None:
    server = start_server(detoxify)
    try:
        answer = analyze(server, "REASONING_EXPERIMENTAL")
    finally:
        server.stop()
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["message"].startswith("Unknown requested attribute: REASONING_EXPERIMENTAL.")
    assert "the heads backend can" in error["message"]
    assert error["details"][0]["errorType"] == "INVALID_REQUEST"


def test_serve_command_refuses_an_unpulled_detoxify_model(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from perspective_local.cli import app

    result = CliRunner().invoke(app, ["serve", "--backends", "heads,detoxify", "--device", "cpu",
                                      "--grpc-port", "0", "--http-port", "0"],
                                env={"PERSPECTIVE_LOCAL_CACHE_DIR": str(tmp_path)})  # fmt: skip
    assert result.exit_code == 1
    assert "run 'perspective-local models pull detoxify-unbiased' first" in result.output
