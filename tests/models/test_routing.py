"""Routing attributes across backends (heads + Detoxify), and the settings that drive it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from perspective_local.models.attributes import HEADS_ATTRIBUTES
from perspective_local.models.backends.detoxify import DetoxifyBackend
from perspective_local.models.routing import (
    RoutedBackend,
    RoutingError,
    describe_routes,
    load_backend,
    plan_routes,
)
from perspective_local.settings import Settings, SettingsError
from tests.models.tiny_detoxify import build_tiny_detoxify

TEXTS = ["you are an idiot", "Thanks, that is a kind and thoughtful answer."]


@pytest.fixture(scope="module")
def detoxify_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory, _ = build_tiny_detoxify(tmp_path_factory.mktemp("dx") / "unbiased", "roberta")
    return directory


def test_plan_explicit_routes_then_first_backend_that_serves() -> None:
    heads = tuple(a for a in HEADS_ATTRIBUTES if a != "SEXUALLY_EXPLICIT")
    serves = {"heads": heads, "detoxify": ("TOXICITY", "SEXUALLY_EXPLICIT")}
    table = plan_routes(["heads", "detoxify"], serves, {"toxicity": "detoxify"})
    assert table["TOXICITY"] == "detoxify"
    assert table["SEXUALLY_EXPLICIT"] == "detoxify"  # Only Detoxify serves it.
    assert table["INSULT"] == "heads"
    assert plan_routes(["detoxify", "heads"], serves, {})["TOXICITY"] == "detoxify"
    with pytest.raises(RoutingError, match="the onnx backend is not loaded"):
        plan_routes(["heads"], {"heads": HEADS_ATTRIBUTES}, {"TOXICITY": "onnx"})
    with pytest.raises(RoutingError, match="does not serve REASONING_EXPERIMENTAL"):
        plan_routes(["heads", "detoxify"], serves, {"REASONING_EXPERIMENTAL": "detoxify"})


def test_routed_scores_equal_each_backends_own(tiny_scorer: Any, detoxify_dir: Path) -> None:
    detoxify = DetoxifyBackend(detoxify_dir, device="cpu")
    routes = {"TOXICITY": "detoxify", "INSULT": "detoxify", "SEXUALLY_EXPLICIT": "detoxify"}
    routed = RoutedBackend([tiny_scorer, detoxify], routes)
    scores = routed.score(TEXTS, ["TOXICITY", "INSULT", "REASONING_EXPERIMENTAL"])
    assert scores.attributes == ("TOXICITY", "INSULT", "REASONING_EXPERIMENTAL")
    own = detoxify.score(TEXTS, ["TOXICITY", "INSULT"])
    np.testing.assert_allclose(scores.column("TOXICITY"), own.column("TOXICITY"))
    np.testing.assert_allclose(scores.column("INSULT"), own.column("INSULT"))
    np.testing.assert_allclose(
        scores.column("REASONING_EXPERIMENTAL"),
        tiny_scorer.score(TEXTS, ["REASONING_EXPERIMENTAL"]).column("REASONING_EXPERIMENTAL"),
    )
    assert scores.model_version == f"{tiny_scorer.model_version}+{detoxify.model_version}"
    assert len(routed.attributes) == 15  # 15 heads, three of them routed to Detoxify.
    assert describe_routes(routed)["SEXUALLY_EXPLICIT"] == "detoxify"
    assert describe_routes(tiny_scorer)["TOXICITY"] == "heads"


def test_attribute_no_backend_serves_is_a_clear_error(detoxify_dir: Path) -> None:
    routed = RoutedBackend([DetoxifyBackend(detoxify_dir, device="cpu")])
    with pytest.raises(ValueError, match="No loaded backend serves REASONING_EXPERIMENTAL"):
        routed.score("hi", ["REASONING_EXPERIMENTAL", "TOXICITY"])


def test_settings_build_the_routed_scorer(tiny_model_dir: Path, detoxify_dir: Path) -> None:
    settings = Settings.load(
        environ={"PERSPECTIVE_LOCAL_ROUTES": "toxicity=Detoxify"},
        model_dir=tiny_model_dir, device="cpu", backends="heads,detoxify",
        detoxify_model=str(detoxify_dir),
    )  # fmt: skip
    assert settings.routes == {"TOXICITY": "detoxify"}
    scorer = load_backend(settings)
    assert isinstance(scorer, RoutedBackend)
    assert describe_routes(scorer)["TOXICITY"] == "detoxify"
    assert describe_routes(scorer)["INSULT"] == "heads"


def test_settings_refuse_bad_backends_and_routes(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="backends"):
        Settings.load(environ={}, backends="heads,tensorflow")
    with pytest.raises(SettingsError, match="not loaded; add them to backends"):
        Settings.load(environ={}, routes="TOXICITY=detoxify")
    with pytest.raises(SettingsError, match="is not ATTRIBUTE=BACKEND"):
        Settings.load(environ={}, routes="TOXICITY")
    config = tmp_path / "settings.toml"
    config.write_text('backends = ["heads", "detoxify"]\n[routes]\nTHREAT = "detoxify"\n')
    loaded = Settings.load(config_file=config, environ={})
    assert loaded.backends == ("heads", "detoxify") and loaded.routes == {"THREAT": "detoxify"}


def test_auto_backend_is_listed_alone_and_takes_no_routes(tmp_path: Path) -> None:
    assert Settings.load(environ={}).backends == ("auto",)
    assert Settings.load(environ={"PERSPECTIVE_LOCAL_BACKENDS": "AUTO"}).backends == ("auto",)
    with pytest.raises(SettingsError, match="'auto' picks one backend and is listed alone"):
        Settings.load(environ={}, backends="auto,detoxify")
    with pytest.raises(SettingsError, match="'auto' loads one backend"):
        Settings.load(environ={}, routes="TOXICITY=heads")
    with pytest.raises(SettingsError, match="or be \\['auto'\\]"):
        Settings.load(environ={}, backends="automatic")
    config = tmp_path / "settings.toml"
    config.write_text('backends = ["heads"]\n')
    assert Settings.load(config_file=config, environ={}).backends == ("heads",)
