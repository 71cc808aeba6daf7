"""The ``onnx`` backend: an exported artifact (``onnx_export.py``) run by ONNX Runtime.

It needs neither torch nor transformers: ``tokenizers`` cuts the windows exactly as the
torch backend does, the same numpy code counts lexicon terms when the artifact has a
lexicon, ONNX Runtime runs the graph, and numpy takes each text's maximum over its windows.
``CUDAExecutionProvider`` is used when the installed ONNX Runtime has it and the device
allows it; otherwise the CPU.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from perspective_local.models.artifact import ArtifactError, load_lexicon, load_manifest
from perspective_local.models.backend import WindowedBackend
from perspective_local.models.windows import Windower

log = logging.getLogger(__name__)

EXPORT_INFO_FILE = "onnx.json"
PRECISIONS = ("fp32", "int8")
#: The graph's third input when the artifact has a lexicon.
LEXICON_INPUT = "lexicon_features"


def providers_for(device: str, available: Sequence[str]) -> list[str]:
    """ONNX Runtime execution providers for ``auto``, ``cpu``, ``cuda`` or ``cuda:N``."""
    if device == "cpu":
        return ["CPUExecutionProvider"]
    has_cuda = "CUDAExecutionProvider" in available
    if device.startswith("cuda") and not has_cuda:
        raise ValueError(
            f"Device {device!r} requested but this ONNX Runtime has no CUDAExecutionProvider "
            "(install onnxruntime-gpu)."
        )
    cpu = ["CPUExecutionProvider"]
    return ["CUDAExecutionProvider", *cpu] if has_cuda else cpu


class OnnxBackend(WindowedBackend):
    """An exported artifact on ONNX Runtime, with the ``Backend`` interface."""

    kind = "onnx"

    def __init__(self, directory: Path | str, *, precision: str = "fp32", device: str = "auto",
                 threads: int | None = None) -> None:  # fmt: skip
        import onnxruntime as ort

        self.directory = Path(directory)
        info = _read_export_info(self.directory)
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
        if precision not in info["files"]:
            raise ArtifactError(
                f"{self.directory} has no {precision} graph; export it with "
                f"'perspective-local models export-onnx{' --int8' if precision == 'int8' else ''}'."
            )
        self.precision = precision
        self.manifest = load_manifest(self.directory)
        self.windower = Windower(
            self.directory, max_length=info["max_length"], window_overlap=info["window_overlap"]
        )
        self.lexicon = load_lexicon(self.directory, self.manifest, self.windower.tokenizer)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or _default_threads()
        providers = providers_for(device, ort.get_available_providers())
        cuda_index = {"device_id": int(device.split(":")[1])} if ":" in device else {}
        provider_options: list[dict[str, Any]] = [
            cuda_index if p == "CUDAExecutionProvider" else {} for p in providers
        ]
        self.session = ort.InferenceSession(
            str(self.directory / info["files"][precision]),
            options,
            providers=providers,
            provider_options=provider_options,
        )
        # ONNX Runtime gains little from batches beyond 32 on a CPU; a GPU wants more.
        self.default_batch_size = 128 if self.device == "CUDAExecutionProvider" else 32
        log.info(
            "onnx model loaded",
            extra={"path": str(self.directory), "precision": precision,
                   "providers": self.session.get_providers()},
        )  # fmt: skip

    @property
    def attributes(self) -> tuple[str, ...]:
        return self.manifest.attributes

    @property
    def model_version(self) -> str:
        return f"{self.manifest.model_version}+onnx-{self.precision}"

    @property
    def description(self) -> str:
        return (
            f"{self.manifest.encoder.id} with {len(self.attributes)} linear heads "
            f"(ONNX Runtime, {self.precision})"
        )

    @property
    def device(self) -> str:
        return str(self.session.get_providers()[0])

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feed = {"input_ids": ids, "attention_mask": mask}
        if self.lexicon is not None:
            feed[LEXICON_INPUT] = self.lexicon.features(ids, mask)
        outputs = self.session.run(["probabilities"], feed)
        probabilities: np.ndarray = outputs[0]
        return probabilities


def _read_export_info(directory: Path) -> dict[str, Any]:
    path = directory / EXPORT_INFO_FILE
    if not path.is_file():
        raise ArtifactError(
            f"Not an ONNX export: {path} does not exist. Create one with "
            "'perspective-local models export-onnx --out DIR'."
        )
    info: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return info


def _default_threads() -> int:
    # Like torch, one intra-op thread per core this process may use.
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
