import numpy as np
import pytest

from perspective_local.models.attributes import HEADS_ATTRIBUTES, UnknownAttributeError
from perspective_local.models.backends.heads import HeadsBackend


def test_default_model_separates_abuse_from_kindness(default_scorer: HeadsBackend) -> None:
    scores = default_scorer.score(
        ["You are a disgusting, stupid idiot.", "Thank you so much, this was really helpful!"]
    )
    assert scores.attributes == HEADS_ATTRIBUTES
    assert scores.model_version == default_scorer.manifest.model_version
    abuse, kindness = scores[0], scores[1]
    for name in ("TOXICITY", "INSULT"):
        assert abuse[name] > 0.5 > kindness[name]
    assert kindness["RESPECT_EXPERIMENTAL"] > abuse["RESPECT_EXPERIMENTAL"]


def test_default_model_sees_bridging_attributes(default_scorer: HeadsBackend) -> None:
    story = "When I was nineteen I lost my job at the mill, and my neighbours kept us fed."
    question = "What do you mean by that? Could you say more about why you feel this way?"
    flat = "ok"
    scores = default_scorer.score([story, question, flat])
    assert scores[0]["PERSONAL_STORY_EXPERIMENTAL"] > scores[2]["PERSONAL_STORY_EXPERIMENTAL"]
    assert scores[1]["CURIOSITY_EXPERIMENTAL"] > scores[2]["CURIOSITY_EXPERIMENTAL"]


def test_scores_are_probabilities_in_input_order(tiny_scorer: HeadsBackend) -> None:
    texts = ["short", "a rather longer text that sorts before the others " * 3, "mid length text"]
    together = tiny_scorer.score(texts)
    for i, text in enumerate(texts):
        alone = tiny_scorer.score(text)
        np.testing.assert_allclose(together.values[i], alone.values[0], atol=1e-5)
    assert ((together.values >= 0) & (together.values <= 1)).all()


def test_selected_attributes_come_back_in_head_order(tiny_scorer: HeadsBackend) -> None:
    scores = tiny_scorer.score(["hello"], attributes=["threat", "TOXICITY"])
    assert scores.attributes == ("TOXICITY", "THREAT")
    full = tiny_scorer.score(["hello"])
    assert scores[0]["THREAT"] == pytest.approx(full[0]["THREAT"], abs=1e-6)
    assert list(scores.column("TOXICITY")) == [pytest.approx(full[0]["TOXICITY"], abs=1e-6)]


def test_long_text_scores_the_max_over_windows(tiny_scorer: HeadsBackend) -> None:
    hostile = "You are a worthless idiot and everyone here hates you. "
    filler = "The committee met on Tuesday to review the annual budget figures. " * 40
    text = filler + hostile
    windows = tiny_scorer.windower.windows([text])
    assert windows.n_texts == 1 and len(windows) > 1
    column = tiny_scorer.attributes.index("TOXICITY")
    per_window = [
        float(tiny_scorer._forward(*tiny_scorer.windower.pad(windows, np.array([i])))[0, column])
        for i in range(len(windows))
    ]
    whole = tiny_scorer.score(text, ["TOXICITY"])[0]["TOXICITY"]
    assert whole == pytest.approx(max(per_window), abs=1e-6)
    # The hostile sentence sits in the last window only, and that window scores highest.
    assert int(np.argmax(per_window)) == len(windows) - 1
    assert whole > tiny_scorer.score(filler, ["TOXICITY"])[0]["TOXICITY"]


def test_empty_input_gives_empty_scores(tiny_scorer: HeadsBackend) -> None:
    scores = tiny_scorer.score([])
    assert len(scores) == 0 and scores.values.shape == (0, 15)


def test_bad_arguments_are_clear(tiny_scorer: HeadsBackend) -> None:
    with pytest.raises(UnknownAttributeError, match="Valid attributes"):
        tiny_scorer.score(["x"], attributes=["NOT_AN_ATTRIBUTE"])
    with pytest.raises(TypeError, match="item 1 is int"):
        tiny_scorer.score(["x", 3])  # type: ignore[list-item]


def test_the_package_exports_the_heads_backend_lazily() -> None:
    import perspective_local.models as models

    assert models.HeadsBackend is HeadsBackend  # as the README's Python API imports it
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = models.Nope  # type: ignore[attr-defined]
