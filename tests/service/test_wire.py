"""Lenient JSON in, proto3 JSON out."""

from __future__ import annotations

import json

import pytest

from perspective_local.errors import InvalidRequest
from perspective_local.proto import commentanalyzer_pb2 as ca
from perspective_local.service import wire


def test_relaxed_json_from_the_official_curl_sample() -> None:
    body = (
        "{comment: {text: \"a: b, {c}\"}, languages: ['en'], requestedAttributes: {TOXICITY:{}},}"
    )
    assert json.loads(wire.relaxed_to_strict(body)) == {
        "comment": {"text": "a: b, {c}"},
        "languages": ["en"],
        "requestedAttributes": {"TOXICITY": {}},
    }


def test_both_spellings_and_enum_numbers_parse() -> None:
    camel = wire.parse(b'{"requestedAttributes": {"TOXICITY": {"scoreType": 1}}}',
                       ca.AnalyzeCommentRequest())  # fmt: skip
    snake = wire.parse(b'{"requested_attributes": {"TOXICITY": {"score_type": "PROBABILITY"}}}',
                       ca.AnalyzeCommentRequest())  # fmt: skip
    assert camel == snake


def test_empty_body_is_an_empty_request() -> None:
    assert wire.parse(b"", ca.AnalyzeCommentRequest()) == ca.AnalyzeCommentRequest()


@pytest.mark.parametrize("body", [b"{", b"[1]", b"\xff", b'{"comment": {"text": 5}}'])
def test_bad_bodies_are_invalid_requests(body: bytes) -> None:
    with pytest.raises(InvalidRequest, match=r"^Invalid JSON payload received"):
        wire.parse(body, ca.AnalyzeCommentRequest())


def test_output_is_proto3_json_in_field_order() -> None:
    response = ca.AnalyzeCommentResponse(languages=["en"], detected_languages=["en"])
    scores = response.attribute_scores["TOXICITY"]
    span = scores.span_scores.add(begin=0, end=5)
    span.score.value, span.score.type = 0.017341165, ca.PROBABILITY
    scores.summary_score.value, scores.summary_score.type = 0.0, ca.PROBABILITY
    assert json.dumps(wire.to_dict(response)) == (
        '{"attributeScores": {"TOXICITY": {"spanScores": [{"begin": 0, "end": 5, "score": '
        '{"value": 0.017341165, "type": "PROBABILITY"}}], "summaryScore": {"value": 0.0, '
        '"type": "PROBABILITY"}}}, "languages": ["en"], "detectedLanguages": ["en"]}'
    )


def test_select_fields() -> None:
    data = {"attributeScores": 1, "languages": 2, "clientToken": 3}
    assert wire.select_fields(data, "attributeScores(TOXICITY),clientToken") == {
        "attributeScores": 1,
        "clientToken": 3,
    }
    assert wire.select_fields(data, None) == data
