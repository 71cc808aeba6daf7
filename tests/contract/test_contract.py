"""Golden JSON from the Perspective reference (perspective_api.md §1.3, §1.5), reproduced by
both transports and the error table, key order included. Model scores are masked: the
shape, the keys and their order are the contract, not the values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import grpc
from grpc_status import rpc_status

from perspective_local.errors import LanguageNotSupportedByAttribute, to_rest
from perspective_local.proto import commentanalyzer_pb2 as ca
from perspective_local.proto import commentanalyzer_pb2_grpc as ca_grpc
from perspective_local.service import wire
from tests.servers import ServerHandle

HERE = Path(__file__).parent


def golden(name: str) -> Any:
    return json.loads((HERE / name).read_text(encoding="utf-8"))


def masked(data: Any) -> str:
    """Canonical text of ``data`` with every score value replaced, key order kept."""

    def mask(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: ("<score>" if k == "value" else mask(v)) for k, v in node.items()}
        if isinstance(node, list):
            return [mask(v) for v in node]
        return node

    return json.dumps(mask(data))


def test_rest_analyze_response_has_the_captured_shape(server: ServerHandle) -> None:
    import httpx

    body = {"comment": {"text": "hello"}, "requestedAttributes": {"TOXICITY": {}}}
    data = httpx.post(f"{server.url}/v1alpha1/comments:analyze", json=body, timeout=30).json()
    data.pop("modelVersion")  # our documented extension, always last
    assert masked(data) == masked(golden("analyze_response_shape.json"))


def test_grpc_response_renders_to_the_same_json(server: ServerHandle) -> None:
    with grpc.insecure_channel(server.target) as channel:
        response = ca_grpc.CommentAnalyzerStub(channel).AnalyzeComment(
            ca.AnalyzeCommentRequest(
                comment=ca.TextEntry(text="hello"),
                requested_attributes={"TOXICITY": ca.AttributeParameters()},
            ),
            timeout=30,
        )
    data = wire.to_dict(response)
    data.pop("modelVersion")
    assert masked(data) == masked(golden("analyze_response_shape.json"))


def test_rest_error_is_byte_for_byte(server: ServerHandle) -> None:
    import httpx

    body = {"comment": {"text": ""}, "requestedAttributes": {"TOXICITY": {}}}
    response = httpx.post(
        f"{server.url}/v1alpha1/comments:analyze", json=body, params={"prettyPrint": "false"}
    )
    expected = json.dumps(golden("comment_empty_error.json"), separators=(",", ":"))
    assert response.text == expected


def test_grpc_error_details_render_to_the_golden_detail(server: ServerHandle) -> None:
    with grpc.insecure_channel(server.target) as channel:
        try:
            ca_grpc.CommentAnalyzerStub(channel).AnalyzeComment(
                ca.AnalyzeCommentRequest(
                    comment=ca.TextEntry(text=""),
                    requested_attributes={"TOXICITY": ca.AttributeParameters()},
                ),
                timeout=30,
            )
        except grpc.RpcError as error:
            status = rpc_status.from_call(error)  # type: ignore[arg-type]
        else:
            raise AssertionError("an empty comment was accepted")
    assert status is not None
    from google.protobuf import json_format

    detail = json_format.MessageToDict(status.details[0])
    assert detail == golden("comment_empty_error.json")["error"]["details"][0]


def test_language_detail_matches_the_real_capture() -> None:
    exc = LanguageNotSupportedByAttribute("SEXUALLY_EXPLICIT", ["om"], detected_languages=["om"])
    detail = to_rest(exc)[1]["error"]["details"][0]
    assert json.dumps(detail) == json.dumps(golden("language_not_supported_detail.json"))
