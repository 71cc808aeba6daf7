import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from perspective_local.models.artifact import (
    DEFAULT_MODEL_DIR,
    HEADS_FILE,
    MANIFEST_FILE,
    ArtifactError,
    EncoderSpec,
    Manifest,
    load_artifact,
    save_artifact,
)


def _manifest(attributes: tuple[str, ...]) -> Manifest:
    return Manifest("m", "1", EncoderSpec("enc", 256, 32, 4), attributes)


def test_round_trip_keeps_weights_and_records_a_hash(tmp_path: Path) -> None:
    weight = np.arange(8, dtype=np.float32).reshape(2, 4)
    saved = save_artifact(tmp_path, _manifest(("TOXICITY", "THREAT")), weight, np.ones(2))
    manifest, w, b = load_artifact(tmp_path)
    assert manifest == saved and len(manifest.heads_sha256) == 64
    assert manifest.model_version == "m@1"
    np.testing.assert_array_equal(w, weight)
    np.testing.assert_array_equal(b, np.ones(2))


def test_refuses_attributes_unknown_to_the_registry(tmp_path: Path) -> None:
    save_artifact(tmp_path, _manifest(("TOXICITY",)), np.zeros((1, 4)), np.zeros(1))
    data = json.loads((tmp_path / MANIFEST_FILE).read_text())
    data["attributes"] = ["TOXICITY_V2"]
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(data))
    with pytest.raises(ArtifactError, match="TOXICITY_V2"):
        load_artifact(tmp_path)


def test_refuses_out_of_order_attributes(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="registry order"):
        save_artifact(tmp_path, _manifest(("THREAT", "TOXICITY")), np.zeros((2, 4)), np.zeros(2))


def test_detects_a_changed_heads_file(tmp_path: Path) -> None:
    save_artifact(tmp_path, _manifest(("TOXICITY",)), np.zeros((1, 4)), np.zeros(1))
    other = tmp_path / "other"
    save_artifact(other, _manifest(("TOXICITY",)), np.ones((1, 4)), np.zeros(1))
    shutil.copy(other / HEADS_FILE, tmp_path / HEADS_FILE)
    with pytest.raises(ArtifactError, match="does not match its manifest"):
        load_artifact(tmp_path)


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="Not a model directory"):
        load_artifact(tmp_path / "nowhere")


def test_shipped_model_covers_every_attribute_with_metrics() -> None:
    from perspective_local.models.attributes import HEADS_ATTRIBUTES

    manifest, weight, _ = load_artifact(DEFAULT_MODEL_DIR)
    assert manifest.attributes == HEADS_ATTRIBUTES
    # The embedding, then the shipped lexicon's eight features.
    assert manifest.lexicon is not None and weight.shape == (15, 384 + 8)
    for name in HEADS_ATTRIBUTES:
        assert manifest.metrics[name]["n_train"] > 0 and "validation" in manifest.metrics[name]
    assert manifest.training_data and all("licence" in v for v in manifest.training_data.values())
