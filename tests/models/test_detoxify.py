"""The Detoxify backend on tiny, self-made checkpoints of the real architectures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from perspective_local.models.artifact import ArtifactError
from perspective_local.models.backends.detoxify import DetoxifyBackend
from perspective_local.models.backends.detoxify_releases import resolve_model_dir
from tests.models.tiny_detoxify import build_tiny_detoxify

TEXTS = ["you are an idiot", "thanks for the kind words", "we disagree"]


def reference(model: Any, scorer: DetoxifyBackend, text: str) -> np.ndarray:
    """What Detoxify.predict computes for a short text: sigmoid of the model's logits."""
    windows = scorer.windower.windows([text])
    ids, mask = scorer.windower.pad(windows, np.arange(len(windows)))
    with torch.inference_mode():
        logits = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask))
    result: np.ndarray = torch.sigmoid(logits.logits).numpy()
    return result


def test_original_checkpoint_maps_jigsaw_classes_to_perspective(tmp_path: Path) -> None:
    directory, model = build_tiny_detoxify(tmp_path / "original", "bert")
    scorer = DetoxifyBackend(directory, device="cpu")
    assert scorer.attributes == (
        "TOXICITY", "SEVERE_TOXICITY", "IDENTITY_ATTACK", "INSULT", "PROFANITY", "THREAT",
    )  # fmt: skip
    scores = scorer.score(TEXTS)
    # Detoxify's output order: toxic, severe_toxic, obscene, threat, insult, identity_hate.
    expected = reference(model, scorer, TEXTS[0])[0]
    row = scores[0]
    assert row["TOXICITY"] == pytest.approx(expected[0], abs=1e-6)
    assert row["SEVERE_TOXICITY"] == pytest.approx(expected[1], abs=1e-6)
    assert row["PROFANITY"] == pytest.approx(expected[2], abs=1e-6)
    assert row["THREAT"] == pytest.approx(expected[3], abs=1e-6)
    assert row["INSULT"] == pytest.approx(expected[4], abs=1e-6)
    assert row["IDENTITY_ATTACK"] == pytest.approx(expected[5], abs=1e-6)
    assert scores.model_version.startswith("original@")


def test_unbiased_checkpoint_serves_sexually_explicit_and_drops_identity_outputs(
    tmp_path: Path,
) -> None:
    directory, model = build_tiny_detoxify(tmp_path / "unbiased", "roberta")
    scorer = DetoxifyBackend(directory, device="cpu")
    assert "SEXUALLY_EXPLICIT" in scorer.attributes and len(scorer.attributes) == 7
    scores = scorer.score(TEXTS[1], attributes=["SEXUALLY_EXPLICIT", "identity_attack"])
    expected = reference(model, scorer, TEXTS[1])[0]
    assert scores.attributes == ("IDENTITY_ATTACK", "SEXUALLY_EXPLICIT")
    assert scores[0]["IDENTITY_ATTACK"] == pytest.approx(expected[3], abs=1e-6)
    assert scores[0]["SEXUALLY_EXPLICIT"] == pytest.approx(expected[6], abs=1e-6)


def test_long_text_scores_the_maximum_over_its_windows(tmp_path: Path) -> None:
    directory, _ = build_tiny_detoxify(tmp_path / "original", "bert")
    scorer = DetoxifyBackend(directory, device="cpu")
    text = "thanks for the kind words " * 6 + "you are an idiot stupid " * 4
    windows = scorer.windower.windows([text])
    assert len(windows) > 1  # The tiny model takes 24 positions.
    per_window = scorer._forward(*scorer.windower.pad(windows, np.arange(len(windows))))
    np.testing.assert_allclose(scorer.score(text).values[0], per_window.max(axis=0), atol=1e-6)


def test_batching_does_not_change_scores(tmp_path: Path) -> None:
    directory, _ = build_tiny_detoxify(tmp_path / "original", "bert")
    scorer = DetoxifyBackend(directory, device="cpu")
    together = scorer.score(TEXTS * 5, batch_size=16).values
    alone = np.vstack([scorer.score(t, batch_size=1).values for t in TEXTS * 5])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_attribute_the_checkpoint_lacks_is_a_clear_error(tmp_path: Path) -> None:
    directory, _ = build_tiny_detoxify(tmp_path / "original", "bert")
    with pytest.raises(ValueError, match="detoxify backend does not serve SEXUALLY_EXPLICIT"):
        DetoxifyBackend(directory, device="cpu").score("hi", ["SEXUALLY_EXPLICIT"])


def test_bad_directories_and_checkpoints_are_refused(tmp_path: Path) -> None:
    directory, _ = build_tiny_detoxify(tmp_path / "original", "bert")
    (directory / "tokenizer.json").unlink()
    with pytest.raises(ArtifactError, match=r"no tokenizer\.json"):
        DetoxifyBackend(directory, device="cpu")

    directory, _ = build_tiny_detoxify(tmp_path / "nocfg", "bert")
    torch.save({"state_dict": {}}, directory / "checkpoint.ckpt")
    with pytest.raises(ArtifactError, match="needs 'config' and 'state_dict'"):
        DetoxifyBackend(directory, device="cpu")

    directory, _ = build_tiny_detoxify(tmp_path / "mismatch", "bert")
    other, _ = build_tiny_detoxify(tmp_path / "other", "roberta")
    (directory / "checkpoint.ckpt").write_bytes((other / "checkpoint.ckpt").read_bytes())
    with pytest.raises(ArtifactError, match="do not fit RobertaForSequenceClassification"):
        DetoxifyBackend(directory, device="cpu")

    (directory / "checkpoint.ckpt").write_bytes(b"not a torch file")
    with pytest.raises(ArtifactError, match="not a readable Detoxify checkpoint"):
        DetoxifyBackend(directory, device="cpu")


def test_release_names_resolve_only_after_a_pull(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="models pull detoxify-unbiased"):
        resolve_model_dir("detoxify-unbiased", tmp_path)
    with pytest.raises(ArtifactError, match="neither a Detoxify release"):
        resolve_model_dir("detoxify-nonsense", tmp_path)
    directory, _ = build_tiny_detoxify(tmp_path / "mine", "bert")
    assert resolve_model_dir(str(directory), tmp_path) == directory
