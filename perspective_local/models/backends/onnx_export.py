"""Export an artifact (encoder plus every head) to one ONNX graph, optionally int8.

The graph takes ``input_ids`` and ``attention_mask`` (int64, dynamic batch and sequence
axes), plus ``lexicon_features`` (float32, one row per window) when the artifact has a
lexicon, and returns ``probabilities`` (float32, one column per head): tokenising into
windows, counting lexicon terms and taking each text's maximum over its windows stay outside
the graph, shared with the torch backend (``windows.py``, ``lexicon.py``). The export
directory is self-contained: graph(s), ``manifest.json``, the tokenizer and any lexicon, so
ONNX Runtime serves it without torch.
"""

from __future__ import annotations

import json
import shutil
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from perspective_local.models.artifact import MANIFEST_FILE, Manifest
from perspective_local.models.backends.heads import HeadsBackend
from perspective_local.models.backends.onnx import EXPORT_INFO_FILE, LEXICON_INPUT
from perspective_local.models.encoder import Encoder, mean_pool
from perspective_local.models.heads import LinearHeads
from perspective_local.models.windows import TOKENIZER_FILE

FP32_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
#: ONNX opset of the export; ONNX Runtime 1.17+ runs it on CPU and CUDA.
OPSET = 17


@dataclass(frozen=True)
class ExportInfo:
    """What ``onnx.json`` records next to the graphs."""

    model_version: str
    opset: int
    max_length: int
    window_overlap: int
    files: dict[str, str]
    torch_version: str
    #: What the graph was exported from (``onnx_cache.source_fingerprint``): the sha256 of
    #: the artifact's manifest and weight files and the encoder's weights; ``None``: unknown.
    source: dict[str, Any] | None = None


class _Graph(torch.nn.Module):
    """Encoder, mean pooling, L2 normalisation and all heads, as one traceable module."""

    def __init__(self, encoder: Encoder, heads: LinearHeads) -> None:
        super().__init__()
        self.model = encoder.model
        self.heads = heads

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        lexicon_features: torch.Tensor | None = None,
    ) -> torch.Tensor:
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        embeddings = mean_pool(hidden, attention_mask)
        probabilities: torch.Tensor = self.heads(embeddings, lexicon_features)
        return probabilities


def export_onnx(scorer: HeadsBackend, out_dir: Path, *, int8: bool = False,
                source: dict[str, Any] | None = None) -> ExportInfo:  # fmt: skip
    """Write ``model.onnx`` (and ``model.int8.onnx`` when ``int8``) for ``scorer`` to ``out_dir``.

    The scorer must be on the CPU in float32; the graph then runs anywhere ONNX Runtime
    does (CPU, or CUDA through ``CUDAExecutionProvider``). ``source`` is recorded in
    ``onnx.json``, which is written last: a directory whose export stopped half-way has none.
    """
    if scorer.encoder.device.type != "cpu":
        raise ValueError("Export from a CPU scorer: HeadsBackend.load(model_dir, device='cpu').")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / EXPORT_INFO_FILE).unlink(missing_ok=True)  # an older export's, until the end
    graph = _Graph(scorer.encoder, scorer.heads).eval()
    example = torch.ones((2, 8), dtype=torch.long)
    axes = {0: "batch", 1: "sequence"}
    inputs: tuple[torch.Tensor, ...] = (example, torch.ones_like(example))
    names = ["input_ids", "attention_mask"]
    dynamic = {"input_ids": axes, "attention_mask": axes, "probabilities": {0: "batch"}}
    if scorer.lexicon is not None:
        inputs += (torch.zeros((2, scorer.lexicon.width), dtype=torch.float32),)
        names.append(LEXICON_INPUT)
        dynamic[LEXICON_INPUT] = {0: "batch"}
    with warnings.catch_warnings():
        # The TorchScript exporter warns that it is deprecated. We keep it while it exists
        # because it writes one self-contained file; the dynamo exporter puts the weights
        # in a side file.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph,
            inputs,
            str(out_dir / FP32_FILE),
            input_names=names,
            output_names=["probabilities"],
            dynamic_axes=dynamic,
            opset_version=OPSET,
            dynamo=False,
        )
    files = {"fp32": FP32_FILE}
    if int8:
        quantize_int8(out_dir / FP32_FILE, out_dir / INT8_FILE)
        files["int8"] = INT8_FILE
    _copy_model_files(scorer, out_dir)
    info = ExportInfo(
        model_version=scorer.model_version,
        opset=OPSET,
        max_length=scorer.encoder.max_length,
        window_overlap=scorer.encoder.window_overlap,
        files=files,
        torch_version=torch.__version__,
        source=source,
    )
    (out_dir / EXPORT_INFO_FILE).write_text(json.dumps(asdict(info), indent=2) + "\n")
    return info


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation of the encoder's matrix products, for CPUs.

    Per-channel weight scales matter: on 300 news comments they give a mean probability
    change of 0.01 (99th percentile 0.06), where per-tensor scales moved single scores by
    0.35. The heads stay in float32; their large weights would amplify the error most.
    Keeping more layers in float32 (attention, first layer) cut the largest change from
    0.2 to 0.13 but cost 10% of the speed-up, so every encoder MatMul is quantised.
    """
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    heads = [n.name for n in onnx.load(str(source)).graph.node if n.name.startswith("/heads/")]
    # quantize_dynamic logs advice to pre-process the graph first; its symbolic shape
    # inference fails on transformer graphs with dynamic axes, so the advice is noise here.
    logging.disable(logging.WARNING)
    try:
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
            nodes_to_exclude=heads,
        )
    finally:
        logging.disable(logging.NOTSET)


def _copy_model_files(scorer: HeadsBackend, out_dir: Path) -> None:
    manifest: Manifest = scorer.manifest
    (out_dir / MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
    for name in (TOKENIZER_FILE, "config.json"):
        shutil.copyfile(scorer.encoder.path / name, out_dir / name)
    if scorer.lexicon is not None and manifest.lexicon is not None:
        scorer.lexicon.data.write(out_dir)  # byte-identical to the artifact's: same hash
