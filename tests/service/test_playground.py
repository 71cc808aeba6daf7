"""The playground's routes and the introspection API it reads, over HTTP on a real server
(the page itself in a real browser: test_playground_browser.py)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from perspective_local.models.attributes import ATTRIBUTES
from perspective_local.service.playground import ASSETS, KEY_REQUIRED, POLICY
from perspective_local.service.rest import Readiness, create_app


def test_the_page_and_its_assets_are_served_with_a_same_origin_policy(http: httpx.Client) -> None:
    page = http.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["content-security-policy"] == POLICY
    assert page.headers["x-content-type-options"] == "nosniff"
    assert 'data-key-required="false"' in page.text
    assert KEY_REQUIRED not in page.text
    # Everything the page loads is this server's: no scheme-qualified or protocol-relative URL.
    assert not re.search(r"""(src|href)=["'](https?:)?//""", page.text)
    for name, media_type in ASSETS.items():
        asset = http.get(f"/static/{name}")
        assert asset.status_code == 200, name
        assert asset.headers["content-type"] == media_type
        assert "http://" not in asset.text and "https://" not in asset.text


def test_an_unknown_asset_is_an_unknown_url(http: httpx.Client) -> None:
    for path in ("/static/secrets.py", "/static/..%2Fplayground.py", "/static/"):
        response = http.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["status"] == "NOT_FOUND"


def test_attributes_route_lists_the_served_attributes_from_the_registry(
    http: httpx.Client,
) -> None:
    response = http.get("/v1alpha1/attributes")
    assert response.status_code == 200, response.text
    data = response.json()
    served = http.get("/v1alpha1/model").json()
    assert [a["name"] for a in data["attributes"]] == served["attributes"]
    assert data["modelVersion"] == served["modelVersion"] == response.headers["x-model-version"]
    for entry in data["attributes"]:
        registered = ATTRIBUTES[entry["name"]]
        assert entry["group"] == registered.group
        assert entry["definition"] == registered.definition
    assert served["maxCommentBytes"] == 20480


def test_analyze_answers_say_where_the_time_went(http: httpx.Client) -> None:
    response = http.post(
        "/v1alpha1/comments:analyze",
        json={"comment": {"text": "hello there"}, "requestedAttributes": {"TOXICITY": {}}},
    )
    assert response.status_code == 200
    names = ("tokenization", "queue", "inference", "total")
    ms = {name: float(response.headers[f"x-{name}-time"]) for name in names}
    assert ms["tokenization"] > 0 and ms["inference"] > 0 and ms["queue"] >= 0
    # The parts happen one after another inside the call (rounded to 1 us each).
    assert ms["tokenization"] + ms["queue"] + ms["inference"] <= ms["total"] + 0.004
    timings = dict(
        re.fullmatch(r"(\w+);dur=([\d.]+)", part.strip()).groups()  # type: ignore[union-attr]
        for part in response.headers["server-timing"].split(",")
    )
    assert set(timings) == set(names)
    assert all(abs(float(timings[n]) - ms[n]) <= 0.05 for n in names)
    # Errors are timed too (nothing reached the model).
    refused = http.post("/v1alpha1/comments:analyze", json={"comment": {"text": ""}})
    assert refused.status_code == 400
    assert refused.headers["x-inference-time"] == "0.000"
    assert refused.headers["server-timing"].startswith(
        "tokenization;dur=0.0, queue;dur=0.0, inference;dur=0.0, total;dur="
    )


def test_keys_guard_the_introspection_routes_and_the_page_asks_for_one(keyed_server: Any) -> None:
    with httpx.Client(base_url=keyed_server.url, timeout=30) as http:
        assert 'data-key-required="true"' in http.get("/").text
        missing = http.get("/v1alpha1/attributes")
        assert missing.status_code == 403
        assert missing.json()["error"]["message"] == "The request is missing a valid API key."
        wrong = http.get("/v1alpha1/model", headers={"X-Goog-Api-Key": "k-bad"})
        assert wrong.status_code == 400
        good = http.get("/v1alpha1/attributes", headers={"X-Goog-Api-Key": "k-good"})
        assert good.status_code == 200


@pytest.mark.parametrize(("ui", "status"), [(True, 200), (False, 404)])
def test_no_ui_leaves_the_page_out(server: Any, ui: bool, status: int) -> None:
    app = create_app(server.running.analyzer, Readiness(True), api_keys=frozenset(), ui=ui)
    transport = httpx.ASGITransport(app=app)

    async def fetch() -> tuple[int, int]:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            page = await client.get("/")
            attributes = await client.get("/v1alpha1/attributes")
            return page.status_code, attributes.status_code

    import asyncio

    assert asyncio.run(fetch()) == (status, 200)
