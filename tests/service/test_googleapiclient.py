"""The real google-api-python-client, pointed at this server through discovery, unchanged."""

from __future__ import annotations

import json
from typing import Any

import pytest
from googleapiclient import discovery
from googleapiclient.errors import HttpError


@pytest.fixture
def service(server: Any) -> Any:
    return discovery.build(
        "commentanalyzer",
        "v1alpha1",
        developerKey="any-key",
        discoveryServiceUrl=f"{server.url}/$discovery/rest?version=v1alpha1",
        static_discovery=False,
        cache_discovery=False,
    )


def test_analyze_through_discovery(service: Any, server: Any) -> None:
    request = {
        "comment": {"text": "You are a pathetic moron."},
        "requestedAttributes": {"TOXICITY": {}, "INSULT": {}},
        "languages": ["en"],
    }
    response = service.comments().analyze(body=request).execute()
    assert set(response["attributeScores"]) == {"TOXICITY", "INSULT"}
    assert response["attributeScores"]["TOXICITY"]["summaryScore"]["value"] > 0.5
    assert response["modelVersion"] == server.running.analyzer.model_version


def test_discovery_document_points_at_this_server(service: Any, server: Any) -> None:
    assert service._baseUrl == f"{server.url}/"
    assert service._rootDesc["batchPath"] == "batch"
    schema = service._rootDesc["schemas"]["AnalyzeCommentRequest"]["properties"]
    assert schema["requestedAttributes"]["additionalProperties"] == {"$ref": "AttributeParameters"}


def test_errors_surface_as_http_errors(service: Any) -> None:
    request = {"comment": {"text": ""}, "requestedAttributes": {"TOXICITY": {}}}
    with pytest.raises(HttpError) as caught:
        service.comments().analyze(body=request).execute()
    assert caught.value.status_code == 400
    error = json.loads(caught.value.content)["error"]
    assert error["message"] == "Comment must be non-empty."
    assert error["details"][0]["errorType"] == "COMMENT_EMPTY"


def test_batch_http_request(service: Any) -> None:
    texts = ["Have a lovely day, friend.", "", "Shut up, you worthless idiot."]
    answers: dict[str, Any] = {}

    def collect(request_id: str, response: Any, exception: Exception | None) -> None:
        answers[request_id] = exception if exception is not None else response

    batch = service.new_batch_http_request(callback=collect)
    for i, text in enumerate(texts):
        body = {"comment": {"text": text}, "requestedAttributes": {"TOXICITY": {}}}
        batch.add(service.comments().analyze(body=body), request_id=str(i))
    batch.execute()
    assert set(answers) == {"0", "1", "2"}
    assert isinstance(answers["1"], HttpError)
    assert answers["1"].status_code == 400
    friendly = answers["0"]["attributeScores"]["TOXICITY"]["summaryScore"]["value"]
    hostile = answers["2"]["attributeScores"]["TOXICITY"]["summaryScore"]["value"]
    assert hostile > friendly


def test_suggest_score_through_discovery(service: Any) -> None:
    body = {
        "comment": {"text": "A fine comment."},
        "attributeScores": {"TOXICITY": {"summaryScore": {"value": 0.01}}},
        "clientToken": "feedback-1",
    }
    response = service.comments().suggestscore(body=body).execute()
    assert response["clientToken"] == "feedback-1"
