"""The ONNX export and the ONNX Runtime backend, against the torch scores."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from perspective_local.models.artifact import ArtifactError
from perspective_local.models.backends.onnx import OnnxBackend, providers_for
from perspective_local.models.backends.onnx_export import export_onnx

#: Stated tolerances, in probability. fp32 runs the same arithmetic in another order: the
#: largest difference is the bound. int8 quantises the encoder's weights (per channel):
#: on 300 news comments the mean difference was 0.0095 and the 99th percentile 0.061, but
#: single values moved up to 0.2 (0.3 for an empty text), so int8 bounds the mean and the
#: 95th percentile (0.063 on the six TEXTS below, which include the empty one).
FP32_TOLERANCE = 1e-4
INT8_MEAN_TOLERANCE = 0.02
INT8_P95_TOLERANCE = 0.08

TEXTS = [
    "Thanks for explaining, that makes sense to me now.",
    "You are a complete idiot and everyone here knows it.",
    "I grew up on a farm, and my father taught me to respect the land.",
    "",
    "Ünïcödé, emoji 😀 and mixed scripts: naïve café — ok?",
    "A long comment that needs several windows. " * 120,
]


@pytest.fixture(scope="module")
def exported(default_scorer: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("onnx")
    export_onnx(default_scorer, out, int8=True)
    return out


def test_export_is_self_contained(exported: Path) -> None:
    names = {p.name for p in exported.iterdir()}
    assert {"model.onnx", "model.int8.onnx", "onnx.json", "manifest.json",
            "tokenizer.json", "config.json"} <= names  # fmt: skip


def test_fp32_graph_matches_torch(exported: Path, default_scorer: Any) -> None:
    onnx = OnnxBackend(exported, precision="fp32", device="cpu")
    expected = default_scorer.score(TEXTS)
    got = onnx.score(TEXTS)
    assert got.attributes == expected.attributes
    assert np.abs(got.values - expected.values).max() < FP32_TOLERANCE
    assert got.model_version == expected.model_version + "+onnx-fp32"


def test_int8_graph_stays_close_to_torch(exported: Path, default_scorer: Any) -> None:
    onnx = OnnxBackend(exported, precision="int8", device="cpu")
    gap = np.abs(onnx.score(TEXTS).values - default_scorer.score(TEXTS).values)
    assert gap.mean() < INT8_MEAN_TOLERANCE
    assert np.quantile(gap, 0.95) < INT8_P95_TOLERANCE
    assert onnx.model_version.endswith("+onnx-int8")


def test_dynamic_axes_any_batch_size(exported: Path) -> None:
    onnx = OnnxBackend(exported, device="cpu")
    one_by_one = np.vstack([onnx.score(t, batch_size=1).values for t in TEXTS])
    np.testing.assert_allclose(onnx.score(TEXTS, batch_size=64).values, one_by_one, atol=1e-5)


def test_attribute_selection_and_errors(exported: Path, tmp_path: Path) -> None:
    onnx = OnnxBackend(exported, device="cpu")
    assert onnx.score("hi", "threat,TOXICITY").attributes == ("TOXICITY", "THREAT")
    # An export serves what its manifest lists; ask a narrowed one for what it lacks.
    served = tuple(a for a in onnx.attributes if a != "SEXUALLY_EXPLICIT")
    onnx.manifest = dataclasses.replace(onnx.manifest, attributes=served)
    with pytest.raises(ValueError, match="onnx backend does not serve SEXUALLY_EXPLICIT"):
        onnx.score("hi", ["SEXUALLY_EXPLICIT"])
    with pytest.raises(ArtifactError, match="Not an ONNX export"):
        OnnxBackend(tmp_path)
    with pytest.raises(ValueError, match="precision must be one of"):
        OnnxBackend(exported, precision="fp16")


def test_missing_int8_graph_says_how_to_make_it(default_scorer: Any, tmp_path: Path) -> None:
    export_onnx(default_scorer, tmp_path)
    with pytest.raises(ArtifactError, match="export-onnx --int8"):
        OnnxBackend(tmp_path, precision="int8")


def test_providers_follow_the_device() -> None:
    assert providers_for("cpu", ["CUDAExecutionProvider", "CPUExecutionProvider"]) == [
        "CPUExecutionProvider"
    ]
    assert providers_for("auto", ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    assert providers_for("auto", ["CUDAExecutionProvider", "CPUExecutionProvider"])[0] == (
        "CUDAExecutionProvider"
    )
    with pytest.raises(ValueError, match="install onnxruntime-gpu"):
        providers_for("cuda:0", ["CPUExecutionProvider"])


def test_onnx_backend_runs_without_torch(exported: Path) -> None:
    code = (
        "import sys\n"
        "from perspective_local.models.backends.onnx import OnnxBackend\n"
        f"s = OnnxBackend({str(exported)!r}, device='cpu')\n"
        "print(s.score('hello').values.shape)\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "(1, 15)" in done.stdout
