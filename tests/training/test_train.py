import json
from pathlib import Path

import numpy as np
import pytest

from perspective_local.models.artifact import MANIFEST_FILE, load_artifact
from perspective_local.models.attributes import HEADS_ATTRIBUTES
from perspective_local.training.corpora import split_of
from perspective_local.training.train import (
    EmbeddingCache,
    Example,
    TrainConfig,
    fit_logistic,
    fit_platt,
    held_out_metrics,
    source_weights,
    train,
    train_attribute,
)
from tests.conftest import TINY_CORPORA


def test_training_writes_a_complete_artifact(tiny_model_dir: Path) -> None:
    manifest, weight, _ = load_artifact(tiny_model_dir)
    assert manifest.name == "tiny-test" and manifest.attributes == HEADS_ATTRIBUTES
    assert weight.shape == (15, manifest.head_inputs) and np.isfinite(weight).all()
    assert set(manifest.training_data) == set(TINY_CORPORA)
    assert manifest.training_data["c3"]["licence"]
    toxicity = manifest.metrics["TOXICITY"]
    # The tiny corpora are cleanly separable: held-out ranking must be near perfect.
    assert toxicity["test"]["roc_auc"] > 0.9 and toxicity["validation"]["roc_auc"] > 0.9
    assert toxicity["test"]["n"] == toxicity["n_test"] > 0
    assert min(toxicity["n_train"], toxicity["n_validation"]) > 0
    assert set(toxicity["test_by_source"]) <= set(toxicity["sources"])
    calibration = toxicity["calibration"]
    assert calibration["method"] == "platt" and calibration["slope"] > 0
    stored = json.loads((tiny_model_dir / MANIFEST_FILE).read_text())
    assert stored["provenance"]["split"].startswith("crc32(group)")


def test_soft_labels_shift_the_fitted_probability() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    target = np.where(x[:, 0] > 0, 0.8, 0.2)
    weight, bias = fit_logistic(x, target, c=10.0, seed=0)
    p = 1 / (1 + np.exp(-(x @ weight + bias)))
    # Soft targets of 0.8/0.2 must not be pushed to 1/0 as hard labels would be.
    assert 0.6 < p[x[:, 0] > 1].mean() < 0.95
    assert 0.05 < p[x[:, 0] < -1].mean() < 0.4


def test_source_weights_balance_corpora_by_the_chosen_power() -> None:
    sources = np.array(["big"] * 90 + ["small"] * 10)
    for scheme, ratio in (("none", 9.0), ("sqrt", 3.0), ("equal", 1.0)):
        weights = source_weights(sources, scheme)  # type: ignore[arg-type]
        assert weights.mean() == pytest.approx(1.0)
        assert weights[:90].sum() / weights[90:].sum() == pytest.approx(ratio)


def test_group_split_is_deterministic_and_near_the_shares() -> None:
    groups = [f"c3:article:{i}" for i in range(5000)]
    splits = [split_of(g) for g in groups]
    assert splits == [split_of(g) for g in groups]
    for side, share in (("test", 0.15), ("validation", 0.15), ("train", 0.70)):
        assert abs(splits.count(side) / len(splits) - share) < 0.03
    assert all(split_of(g, test_share=1.0) == "test" for g in groups[:100])
    # A larger test share only moves groups from validation/train into test, never out.
    assert all(
        split_of(g, 0.3) == "test" for g, s in zip(groups, splits, strict=True) if s == "test"
    )


def test_platt_scaling_recovers_a_known_miscalibration() -> None:
    rng = np.random.default_rng(1)
    logits = rng.normal(scale=2.0, size=20_000)
    target = 1 / (1 + np.exp(-(0.5 * logits + 0.7)))
    slope, intercept = fit_platt(logits, target)
    assert slope == pytest.approx(0.5, abs=0.02) and intercept == pytest.approx(0.7, abs=0.02)


def test_metrics_binarise_at_one_half() -> None:
    metrics = held_out_metrics(np.array([0.0, 0.2, 0.6, 1.0]), np.array([0.1, 0.3, 0.7, 0.9]))
    assert metrics["roc_auc"] == 1.0 and metrics["spearman"] == pytest.approx(1.0)
    assert metrics["n_positive"] == 2
    assert metrics["mae"] == pytest.approx(0.1) and metrics["ece"] == pytest.approx(0.1)
    single_class = held_out_metrics(np.array([0.1, 0.2]), np.array([0.3, 0.4]))
    assert single_class["roc_auc"] is None


def test_embedding_cache_reuses_stored_vectors(tmp_path: Path) -> None:
    calls: list[list[str]] = []

    def embed(texts: list[str]) -> np.ndarray:
        calls.append(texts)
        return np.full((len(texts), 2), float(len(calls)), dtype=np.float32)

    first = EmbeddingCache(tmp_path, "enc").embed(["a", "b", "a"], embed)
    again = EmbeddingCache(tmp_path, "enc").embed(["b", "c"], embed)
    assert calls == [["a", "b"], ["c"]]
    np.testing.assert_array_equal(first[0], again[0] * 0 + 1.0)
    assert again[1][0] == 2.0


def test_missing_corpus_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"C3_anonymized\.csv"):
        train(TrainConfig(data_dir=tmp_path, out_dir=tmp_path / "out", corpora=("c3",)))


def test_attributes_without_labels_are_reported(tiny_corpora: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"No training labels for .*COMPASSION"):
        train(
            TrainConfig(data_dir=tiny_corpora, out_dir=tmp_path, corpora=("c3", "decodingtrust")),
            progress=lambda line: None,
        )


def _lexicon_examples(signal: bool) -> list[Example]:
    """Texts whose target follows the last (lexicon) column when ``signal``, else noise."""
    rng = np.random.default_rng(0)
    examples = []
    for i in range(600):
        dense = rng.normal(size=4)
        count = float(rng.integers(0, 3))
        target = 1 / (1 + np.exp(-(2.5 * count - 2.0 + 0.3 * dense[0])))
        if not signal:
            target = 1 / (1 + np.exp(-(0.3 * dense[0] - 1.0)))
        split = ("train", "validation", "test")[i % 3]
        examples.append(
            Example(np.append(dense, np.log1p(count)).astype(np.float32), target, "bluesky", split)
        )
    return examples


@pytest.mark.parametrize("signal", [True, False])
def test_lexicon_columns_are_kept_only_where_they_help(signal: bool) -> None:
    weight, _, report = train_attribute(
        "PROFANITY", _lexicon_examples(signal), seed=0, lexicon_columns=1, c_grid=(1.0,)
    )
    assert weight.shape == (5,)
    assert report["lexicon"]["used"] is signal
    assert (weight[-1] > 1.0) if signal else (weight[-1] == 0.0)


def test_tiny_model_carries_the_lexicon_it_was_trained_with(tiny_model_dir: Path) -> None:
    manifest, weight, _ = load_artifact(tiny_model_dir)
    used = {a for a, m in manifest.metrics.items() if m["lexicon"]["used"]}
    if manifest.lexicon is None:
        assert not used and weight.shape[1] == manifest.encoder.dimension
    else:
        assert used and weight.shape[1] == manifest.encoder.dimension + 8
        rows = [manifest.attributes.index(a) for a in manifest.attributes if a not in used]
        assert not weight[rows, manifest.encoder.dimension :].any()
