"""The gRPC transport on a real server: generated stubs, rich errors, health, reflection."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from perspective_local.errors import ERROR_TYPE_URL
from perspective_local.models.attributes import HEADS_ATTRIBUTES
from perspective_local.proto import commentanalyzer_pb2 as ca
from perspective_local.proto import commentanalyzer_pb2_grpc as ca_grpc
from perspective_local.proto import perspective_local_v1_pb2 as pl
from perspective_local.proto import perspective_local_v1_pb2_grpc as pl_grpc


def analyze_request(text: str, *names: str, **fields: Any) -> ca.AnalyzeCommentRequest:
    return ca.AnalyzeCommentRequest(
        comment=ca.TextEntry(text=text),
        requested_attributes={n: ca.AttributeParameters() for n in names or ("TOXICITY",)},
        **fields,
    )


def rich_error(call: Any) -> tuple[grpc.StatusCode, str, ca.Error | None, Any]:
    """Code, message, the unpacked commentanalyzer Error (if any) and the raw status."""
    status = rpc_status.from_call(call)
    assert status is not None, "no google.rpc.Status in the trailers"
    detail = None
    for packed in status.details:
        if packed.type_url == ERROR_TYPE_URL:
            detail = ca.Error()
            assert packed.Unpack(detail)
    return call.code(), status.message, detail, status


def test_analyze_comment(channel: grpc.Channel) -> None:
    stub = ca_grpc.CommentAnalyzerStub(channel)
    request = analyze_request(
        "Hello world. You suck!", "TOXICITY", "INSULT", span_annotations=True, client_token="x"
    )
    response, call = stub.AnalyzeComment.with_call(request, timeout=30)
    assert set(response.attribute_scores) == {"TOXICITY", "INSULT"}
    toxicity = response.attribute_scores["TOXICITY"]
    assert toxicity.summary_score.type == ca.PROBABILITY
    assert [(s.begin, s.end) for s in toxicity.span_scores] == [(0, 12), (13, 22)]
    assert toxicity.span_scores[1].score.value > toxicity.span_scores[0].score.value
    assert response.client_token == "x"
    assert list(response.languages) == ["en"]
    assert response.model_version
    assert ("x-model-version", response.model_version) in call.trailing_metadata()


def test_analyze_matches_rest(channel: grpc.Channel, http: Any) -> None:
    text = "I will find you and make you regret this."
    response = ca_grpc.CommentAnalyzerStub(channel).AnalyzeComment(
        analyze_request(text, "THREAT"), timeout=30
    )
    body = {"comment": {"text": text}, "requestedAttributes": {"THREAT": {}}}
    rest = http.post("/v1alpha1/comments:analyze", json=body).json()
    grpc_value = response.attribute_scores["THREAT"].summary_score.value
    assert grpc_value == pytest.approx(rest["attributeScores"]["THREAT"]["summaryScore"]["value"])


@pytest.mark.parametrize(
    ("request_", "message", "error_type"),
    [
        (analyze_request(""), "Comment must be non-empty.", ca.COMMENT_EMPTY),
        (analyze_request("x" * 20481), "Comment text too long.", ca.COMMENT_TOO_LONG),
        (
            ca.AnalyzeCommentRequest(comment=ca.TextEntry(text="hi")),
            "Missing requested_attributes",
            ca.NO_REQUESTED_ATTRIBUTES,
        ),
        (analyze_request("hi", "NOPE"), "Unknown requested attribute: NOPE", ca.INVALID_REQUEST),
        (analyze_request("😀 123"), "Unable to detect language", ca.LANGUAGE_DETECTION_FAILED),
    ],
)
def test_errors_carry_packed_details(
    channel: grpc.Channel, request_: ca.AnalyzeCommentRequest, message: str, error_type: int
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        ca_grpc.CommentAnalyzerStub(channel).AnalyzeComment(request_, timeout=30)
    code, got_message, detail, _ = rich_error(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert got_message == message
    assert detail is not None and detail.error_type == error_type


def test_language_error_detail(channel: grpc.Channel) -> None:
    request = analyze_request("hello", languages=["de"])
    with pytest.raises(grpc.RpcError) as caught:
        ca_grpc.CommentAnalyzerStub(channel).AnalyzeComment(request, timeout=30)
    _, message, detail, _ = rich_error(caught.value)
    assert message == "Attribute TOXICITY does not support request languages: de"
    assert detail is not None
    assert detail.error_type == ca.LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE
    info = detail.language_not_supported_by_attribute_error
    assert info.attribute == "TOXICITY"
    assert list(info.requested_languages) == ["de"]


def test_score_batch(channel: grpc.Channel) -> None:
    stub = pl_grpc.PerspectiveLocalStub(channel)
    texts = ["You are a disgusting idiot.", "Thank you, that is very kind.", "ok"]
    response = stub.ScoreBatch(pl.ScoreBatchRequest(texts=texts), timeout=60)
    assert list(response.attributes) == list(HEADS_ATTRIBUTES)
    assert len(response.results) == 3
    assert response.results[0].scores["TOXICITY"] > response.results[1].scores["TOXICITY"]
    picked = stub.ScoreBatch(
        pl.ScoreBatchRequest(texts=texts[:1], attributes=["insult"]), timeout=60
    )
    assert list(picked.attributes) == ["INSULT"]
    assert set(picked.results[0].scores) == {"INSULT"}
    assert picked.model_version == response.model_version


def test_score_batch_rejects_an_empty_text_by_index(channel: grpc.Channel) -> None:
    stub = pl_grpc.PerspectiveLocalStub(channel)
    with pytest.raises(grpc.RpcError) as caught:
        stub.ScoreBatch(pl.ScoreBatchRequest(texts=["fine", " "]), timeout=30)
    code, message, detail, _ = rich_error(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert message == "texts[1]: Comment must be non-empty."
    assert detail is not None and detail.error_type == ca.COMMENT_EMPTY


def test_stream_score(channel: grpc.Channel) -> None:
    stub = pl_grpc.PerspectiveLocalStub(channel)
    requests = [
        pl.ScoreRequest(id="a", text="You are a vile idiot."),
        pl.ScoreRequest(id="b", text=""),
        pl.ScoreRequest(id="c", text="Lovely weather today.", attributes=["TOXICITY"]),
    ]
    answers = {r.id: r for r in stub.StreamScore(iter(requests), timeout=60)}
    assert set(answers) == {"a", "b", "c"}
    assert answers["a"].scores["TOXICITY"] > answers["c"].scores["TOXICITY"]
    assert set(answers["c"].scores) == {"TOXICITY"}
    assert answers["b"].error.message == "Comment must be non-empty."
    assert answers["b"].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert answers["a"].model_version


def test_list_attributes_and_model_info(channel: grpc.Channel) -> None:
    stub = pl_grpc.PerspectiveLocalStub(channel)
    listed = stub.ListAttributes(pl.ListAttributesRequest(), timeout=10)
    assert [a.name for a in listed.attributes] == list(HEADS_ATTRIBUTES)
    assert {a.backend for a in listed.attributes} == {"heads"}
    assert all(list(a.languages) == ["en"] for a in listed.attributes)
    info = stub.GetModelInfo(pl.GetModelInfoRequest(), timeout=10)
    assert info.model_version == listed.model_version
    assert info.device == "cpu"
    assert info.max_comment_bytes == 20480


def test_health_checks_like_grpc_health_probe(channel: grpc.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    for service in ("", "google.commentanalyzer.v1alpha1.CommentAnalyzer",
                    "perspective_local.v1.PerspectiveLocal"):  # fmt: skip
        response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert response.status == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.RpcError) as caught:
        stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=5)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_reflection_lists_every_service(channel: grpc.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    (answer,) = list(stub.ServerReflectionInfo(iter([request]), timeout=5))
    names = {s.name for s in answer.list_services_response.service}
    assert names == {
        "google.commentanalyzer.v1alpha1.CommentAnalyzer",
        "perspective_local.v1.PerspectiveLocal",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }
    by_symbol = reflection_pb2.ServerReflectionRequest(
        file_containing_symbol="google.commentanalyzer.v1alpha1.CommentAnalyzer"
    )
    (answer,) = list(stub.ServerReflectionInfo(iter([by_symbol]), timeout=5))
    assert answer.file_descriptor_response.file_descriptor_proto


def test_api_keys_in_metadata(keyed_server: Any) -> None:
    with grpc.insecure_channel(keyed_server.target) as chan:
        stub = ca_grpc.CommentAnalyzerStub(chan)
        request = analyze_request("hello there")
        with pytest.raises(grpc.RpcError) as caught:
            stub.AnalyzeComment(request, timeout=30)
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert caught.value.details() == "The request is missing a valid API key."
        with pytest.raises(grpc.RpcError) as caught:
            stub.AnalyzeComment(request, timeout=30, metadata=[("x-goog-api-key", "bad")])
        code, message, _, status = rich_error(caught.value)
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert message == "API key not valid. Please pass a valid API key."
        info = error_details_pb2.ErrorInfo()
        assert status.details[0].Unpack(info) and info.reason == "API_KEY_INVALID"
        ok = stub.AnalyzeComment(request, timeout=30, metadata=[("x-goog-api-key", "k-good")])
        assert "TOXICITY" in ok.attribute_scores
        # Health stays open without a key, for load balancers.
        health = health_pb2_grpc.HealthStub(chan).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert health.status == health_pb2.HealthCheckResponse.SERVING
