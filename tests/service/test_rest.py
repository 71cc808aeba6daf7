"""The REST transport on a real server: Perspective's request shapes, responses and errors."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from perspective_local.service.spans import utf16_length

ANALYZE = "/v1alpha1/comments:analyze"
ERROR_TYPE_URL = "type.googleapis.com/google.commentanalyzer.v1alpha1.Error"


def analyze(http: httpx.Client, body: Any, **params: str) -> httpx.Response:
    content = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return http.post(ANALYZE, content=content, params=params)


def expect_error(
    response: httpx.Response, code: int, status: str, message: str, error_type: str | None
) -> dict[str, Any]:
    assert response.status_code == code, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["status"] == status
    assert error["message"] == message
    if error_type is None:
        assert all(d["@type"] != ERROR_TYPE_URL for d in error.get("details", []))
        return error
    assert error["details"][0]["@type"] == ERROR_TYPE_URL
    assert error["details"][0]["errorType"] == error_type
    return error


def test_official_curl_sample_with_unquoted_keys_and_no_content_type(http: httpx.Client) -> None:
    body = (
        '{comment: {text: "What kind of idiot name is foo?"}, languages: ["en"], '
        "requestedAttributes: {TOXICITY:{}} }"
    )
    response = http.post(ANALYZE, content=body, params={"key": "anything"})
    assert response.status_code == 200, response.text
    data = response.json()
    toxicity = data["attributeScores"]["TOXICITY"]
    assert list(toxicity) == ["spanScores", "summaryScore"]
    assert toxicity["summaryScore"]["type"] == "PROBABILITY"
    assert 0.0 <= toxicity["summaryScore"]["value"] <= 1.0
    # Without spanAnnotations: one span covering the whole text, equal to the summary.
    (span,) = toxicity["spanScores"]
    assert span == {"begin": 0, "end": 31, "score": toxicity["summaryScore"]}
    assert data["languages"] == ["en"]
    assert data["detectedLanguages"][0] == "en"
    assert "clientToken" not in data
    assert data["modelVersion"] == response.headers["x-model-version"]


def test_snake_case_names_client_token_and_percent_encoded_colon(http: httpx.Client) -> None:
    body = {
        "comment": {"text": "You are a worthless idiot."},
        "requested_attributes": {"INSULT": {"score_type": "PROBABILITY"}},
        "client_token": "abc-123",
        "do_not_store": True,
    }
    response = http.post("/v1alpha1/comments%3Aanalyze", content=json.dumps(body))
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["clientToken"] == "abc-123"
    assert data["attributeScores"]["INSULT"]["summaryScore"]["value"] > 0.5


def test_span_annotations_give_per_sentence_utf16_spans(http: httpx.Client) -> None:
    text = "😀 Hello there, friend. You are a disgusting idiot!"
    body = {
        "comment": {"text": text},
        "requestedAttributes": {"TOXICITY": {}},
        "spanAnnotations": True,
    }
    data = analyze(http, body).json()
    spans = data["attributeScores"]["TOXICITY"]["spanScores"]
    assert [(s["begin"], s["end"]) for s in spans] == [(0, 23), (24, utf16_length(text))]
    # The emoji is two UTF-16 code units, so the first sentence ends at 23, not 22.
    assert utf16_length(text[:22]) == 23
    assert spans[1]["score"]["value"] > spans[0]["score"]["value"]


def test_single_span_matches_text_length_in_utf16(http: httpx.Client) -> None:
    text = "café 🎉 looks great"
    body = {"comment": {"text": text}, "requestedAttributes": {"TOXICITY": {}}}
    span = analyze(http, body).json()["attributeScores"]["TOXICITY"]["spanScores"][0]
    assert (span["begin"], span["end"]) == (0, len(text) + 1)


def test_score_threshold_drops_the_attribute(http: httpx.Client) -> None:
    body = {
        "comment": {"text": "Thank you, this was a lovely and helpful article."},
        "requestedAttributes": {"TOXICITY": {"scoreThreshold": 0.99}, "INSULT": {}},
    }
    data = analyze(http, body).json()
    assert set(data["attributeScores"]) == {"INSULT"}
    body["requestedAttributes"] = {"TOXICITY": {"scoreThreshold": 0.99}}
    data = analyze(http, body).json()
    assert "attributeScores" not in data
    # A threshold of 0 is a real threshold (FloatValue), and every score passes it.
    body["requestedAttributes"] = {"TOXICITY": {"scoreThreshold": 0}}
    assert "TOXICITY" in analyze(http, body).json()["attributeScores"]


def test_fields_and_pretty_print(http: httpx.Client) -> None:
    body = {"comment": {"text": "hello"}, "requestedAttributes": {"TOXICITY": {}}}
    response = analyze(http, body, fields="attributeScores", prettyPrint="false", alt="json")
    assert list(response.json()) == ["attributeScores"]
    assert "\n" not in response.text


def test_languages_are_echoed_and_detected(http: httpx.Client) -> None:
    body = {
        "comment": {"text": "This is a perfectly normal sentence about the weather."},
        "languages": ["en-US"],
        "requestedAttributes": {"TOXICITY": {}},
    }
    data = analyze(http, body).json()
    assert data["languages"] == ["en-US"]
    assert data["detectedLanguages"][0] == "en"


def test_drop_unsupported_attributes(http: httpx.Client) -> None:
    body = {
        "comment": {"text": "Du bist ein Idiot und das ist nicht gut"},
        "requestedAttributes": {"TOXICITY": {}},
        "dropUnsupportedAttributes": True,
    }
    response = analyze(http, body)
    assert response.status_code == 200
    assert "attributeScores" not in response.json()
    assert response.json()["languages"] == ["de"]


LONG = "a" * 20481
ERRORS = [
    pytest.param(
        {"comment": {"text": ""}, "requestedAttributes": {"TOXICITY": {}}},
        "Comment must be non-empty.",
        "COMMENT_EMPTY",
        id="empty",
    ),
    pytest.param({}, "Comment must be non-empty.", "COMMENT_EMPTY", id="no-comment"),
    pytest.param(
        {"comment": {"text": LONG}, "requestedAttributes": {"TOXICITY": {}}},
        "Comment text too long.",
        "COMMENT_TOO_LONG",
        id="too-long",
    ),
    pytest.param(
        {"comment": {"text": "hi"}},
        "Missing requested_attributes",
        "NO_REQUESTED_ATTRIBUTES",
        id="no-attributes",
    ),
    pytest.param(
        {"comment": {"text": "hi"}, "requestedAttributes": {"NOT_AN_ATTRIBUTE": {}}},
        "Unknown requested attribute: NOT_AN_ATTRIBUTE",
        "INVALID_REQUEST",
        id="unknown-attribute",
    ),
    pytest.param(
        {"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {"scoreType": "RAW"}}},
        "Requested score type RAW is not supported by attribute TOXICITY",
        "INVALID_REQUEST",
        id="score-type",
    ),
    pytest.param(
        {"comment": {"text": "<b>hi</b>", "type": "HTML"}, "requestedAttributes": {"TOXICITY": {}}},
        "Currently, only 'PLAIN_TEXT' comments are supported",
        "INVALID_REQUEST",
        id="html",
    ),
    pytest.param(
        {"comment": {"text": "hi", "type": "MARKDOWN"}, "requestedAttributes": {"TOXICITY": {}}},
        "Unknown text type",
        "INVALID_REQUEST",
        id="unknown-type",
    ),
    pytest.param(
        {
            "comment": {"text": "hi"},
            "context": {
                "entries": [{"text": "a"}],
                "articleAndParentComment": {"article": {"text": "b"}},
            },
            "requestedAttributes": {"TOXICITY": {}},
        },
        "Context can have either entries or article_and_parent_comment, but both fields were "
        "populated.",
        "INVALID_REQUEST",
        id="both-contexts",
    ),
    pytest.param(
        {"comment": {"text": "12345 !!! 😀"}, "requestedAttributes": {"TOXICITY": {}}},
        "Unable to detect language",
        "LANGUAGE_DETECTION_FAILED",
        id="detection-failed",
    ),
]


@pytest.mark.parametrize(("body", "message", "error_type"), ERRORS)
def test_documented_errors(http: httpx.Client, body: Any, message: str, error_type: str) -> None:
    expect_error(analyze(http, body), 400, "INVALID_ARGUMENT", message, error_type)


def test_text_type_may_be_the_enum_number(http: httpx.Client) -> None:
    # proto3 JSON accepts an enum's number as well as its name: 1 is PLAIN_TEXT.
    for kind in (0, 1):
        body = {"comment": {"text": "hello", "type": kind}, "requestedAttributes": {"TOXICITY": {}}}
        response = analyze(http, body)
        assert response.status_code == 200, response.text
        assert "TOXICITY" in response.json()["attributeScores"]
    body = {"comment": {"text": "hello", "type": 7}, "requestedAttributes": {"TOXICITY": {}}}
    expect_error(
        analyze(http, body), 400, "INVALID_ARGUMENT", "Unknown text type", "INVALID_REQUEST"
    )
    body = {"comment": {"text": "<b>hi</b>", "type": 2}, "requestedAttributes": {"TOXICITY": {}}}
    expect_error(
        analyze(http, body),
        400,
        "INVALID_ARGUMENT",
        "Currently, only 'PLAIN_TEXT' comments are supported",
        "INVALID_REQUEST",
    )


def test_language_not_supported_detail(http: httpx.Client) -> None:
    body = {
        "comment": {"text": "Du bist ein Idiot und das ist nicht gut"},
        "requestedAttributes": {"TOXICITY": {}},
    }
    error = expect_error(
        analyze(http, body),
        400,
        "INVALID_ARGUMENT",
        "Attribute TOXICITY does not support request languages: de",
        "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
    )
    detail = error["details"][0]
    assert list(detail) == ["@type", "errorType", "languageNotSupportedByAttributeError"]
    assert detail["languageNotSupportedByAttributeError"]["attribute"] == "TOXICITY"
    assert detail["languageNotSupportedByAttributeError"]["detectedLanguages"][0] == "de"
    body["languages"] = ["fr", "en"]
    error = expect_error(
        analyze(http, body),
        400,
        "INVALID_ARGUMENT",
        "Attribute TOXICITY does not support request languages: fr, en",
        "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
    )
    info = error["details"][0]["languageNotSupportedByAttributeError"]
    assert info["requestedLanguages"] == ["fr", "en"]


def test_bad_json_and_unknown_fields(http: httpx.Client) -> None:
    response = analyze(http, "{comment: ")
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("Invalid JSON payload received.")
    response = analyze(http, {"comment": {"text": "hi"}, "requestedAttributes": {}, "bogus": 1})
    assert response.status_code == 400
    assert 'no field named "bogus"' in response.json()["error"]["message"]


def test_suggest_score(http: httpx.Client) -> None:
    body = {
        "comment": {"text": "You are an idiot"},
        "attributeScores": {
            "TOXICITY": {
                "summaryScore": {"value": 0.9},
                "spanScores": [{"begin": 0, "end": 16, "score": {"value": 0.9}}],
            }
        },
        "languages": ["en"],
        "clientToken": "t1",
    }
    response = http.post("/v1alpha1/comments:suggestscore", content=json.dumps(body))
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["clientToken"] == "t1"
    assert data["requestedLanguages"] == ["en"]
    assert data["detectedLanguages"][0] == "en"
    body["attributeScores"] = {}
    response = http.post("/v1alpha1/comments:suggestscore", content=json.dumps(body))
    expect_error(response, 400, "INVALID_ARGUMENT", "Missing attribute_scores", "INVALID_REQUEST")
    body["attributeScores"] = {"TOXICITY": {"spanScores": [{"score": {"value": 0.1}}]}}
    response = http.post("/v1alpha1/comments:suggestscore", content=json.dumps(body))
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "Span scores of attribute TOXICITY must have begin and end"
    )


def test_unknown_route_and_method_use_google_envelope(http: httpx.Client) -> None:
    response = http.post("/v1alpha1/comments:nothing", content="{}")
    expect_error(
        response, 404, "NOT_FOUND", "The requested URL was not found on this server.", None
    )
    # Google answers a GET on a POST-only method as an unknown URL.
    response = http.get(ANALYZE)
    expect_error(
        response, 404, "NOT_FOUND", "The requested URL was not found on this server.", None
    )


def test_server_keeps_serving_after_errors(http: httpx.Client) -> None:
    for body in ("not json at all", "[1, 2]", '{"comment": 5}', b"\xff\xfe"):
        assert analyze(http, body).status_code == 400
    ok = analyze(http, {"comment": {"text": "still here"}, "requestedAttributes": {"TOXICITY": {}}})
    assert ok.status_code == 200


def test_healthz_and_metrics(http: httpx.Client) -> None:
    health = http.get("/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "SERVING"
    analyze(http, {"comment": {"text": "count me"}, "requestedAttributes": {"TOXICITY": {}}})
    metrics = http.get("/metrics").text
    assert 'perspective_requests_total{code="OK",method="analyze",transport="rest"}' in metrics
    for name in (
        "perspective_batch_size_bucket",
        "perspective_queue_depth",
        "perspective_request_duration_seconds_bucket",
        "perspective_inference_duration_seconds_bucket",
    ):
        assert name in metrics


def test_api_keys_are_checked_when_configured(keyed_server: Any) -> None:
    body = json.dumps({"comment": {"text": "hi there"}, "requestedAttributes": {"TOXICITY": {}}})
    with httpx.Client(base_url=keyed_server.url, timeout=30) as http:
        missing = http.post(ANALYZE, content=body)
        expect_error(
            missing, 403, "PERMISSION_DENIED", "The request is missing a valid API key.", None
        )
        bad = http.post(ANALYZE, content=body, params={"key": "nope"})
        error = expect_error(
            bad, 400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", None
        )
        assert error["details"][0]["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
        assert error["details"][0]["reason"] == "API_KEY_INVALID"
        assert http.post(ANALYZE, content=body, params={"key": "k-good"}).status_code == 200
        header = http.post(ANALYZE, content=body, headers={"X-Goog-Api-Key": "k-other"})
        assert header.status_code == 200
        bearer = http.post(ANALYZE, content=body, headers={"Authorization": "Bearer k-good"})
        assert bearer.status_code == 200
