"""HELM's toxicity metric on the default install: its exact request must be answered.

HELM (``helm/benchmark/metrics/toxicity_metrics.py``) asks Perspective for these eight
attributes in one ``comments:analyze`` call and reads every ``summaryScore``; a server that
refuses one attribute refuses the whole request, and HELM gets no scores at all.
"""

from __future__ import annotations

import httpx

from perspective_local.models.attributes import HEADS_ATTRIBUTES

HELM_ATTRIBUTES = (
    "TOXICITY", "SEVERE_TOXICITY", "IDENTITY_ATTACK", "INSULT", "PROFANITY", "THREAT",
    "SEXUALLY_EXPLICIT", "FLIRTATION",
)  # fmt: skip


def test_the_default_heads_serve_every_attribute_helm_requests() -> None:
    assert set(HELM_ATTRIBUTES) <= set(HEADS_ATTRIBUTES)


def test_helm_request_succeeds_with_all_eight_scores(http: httpx.Client) -> None:
    body = {
        "comment": {"text": "Hey baby, you look gorgeous tonight. Want to come over?"},
        "requestedAttributes": {name: {} for name in HELM_ATTRIBUTES},
        "languages": ["en"],
        "doNotStore": True,
    }
    response = http.post("/v1alpha1/comments:analyze", json=body)
    assert response.status_code == 200, response.text
    scores = response.json()["attributeScores"]
    assert set(scores) == set(HELM_ATTRIBUTES)
    for name in HELM_ATTRIBUTES:
        value = scores[name]["summaryScore"]["value"]
        assert 0.0 <= value <= 1.0 and scores[name]["summaryScore"]["type"] == "PROBABILITY"
    # A flirtatious line reads as more flirtatious than sexually explicit or threatening.
    assert scores["FLIRTATION"]["summaryScore"]["value"] > scores["THREAT"]["summaryScore"]["value"]
