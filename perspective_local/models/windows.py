"""Tokenising texts into windows, batching windows by length and padding them.

Every backend (the torch encoder, its ONNX export, Detoxify checkpoints) reads texts the
same way: a text longer than ``max_length`` tokens becomes several windows that overlap by
``window_overlap`` tokens, and a text's score is the maximum over its windows. This module
needs only the ``tokenizers`` library and a ``tokenizer.json``, not torch, so a backend
that runs without torch (ONNX Runtime) tokenises exactly as the torch one does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

TOKENIZER_FILE = "tokenizer.json"


@dataclass(frozen=True)
class Windows:
    """Token windows of a list of texts: one or more windows per text."""

    input_ids: list[list[int]]
    #: For each window, the index of the text it came from.
    text_index: np.ndarray
    n_texts: int

    def __len__(self) -> int:
        return len(self.input_ids)

    def lengths(self) -> np.ndarray:
        return np.fromiter((len(ids) for ids in self.input_ids), dtype=np.int64, count=len(self))

    @property
    def longest(self) -> int:
        """The longest window, in tokens (0 for no windows)."""
        return max((len(ids) for ids in self.input_ids), default=0)

    @staticmethod
    def join(parts: Sequence[Windows]) -> Windows:
        """Several texts lists' windows as one list's: texts keep their order, part by part."""
        input_ids: list[list[int]] = []
        indices: list[np.ndarray] = []
        offset = 0
        for part in parts:
            input_ids.extend(part.input_ids)
            indices.append(part.text_index + offset)
            offset += part.n_texts
        text_index = np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64)
        return Windows(input_ids, text_index, offset)

    def max_per_text(self, per_window: np.ndarray) -> np.ndarray:
        """Each text's row-wise maximum over its windows' rows of ``per_window``."""
        per_text = np.zeros((self.n_texts, per_window.shape[1]), dtype=np.float32)
        np.maximum.at(per_text, self.text_index, per_window)
        return per_text

    def mean_per_text(self, per_window: np.ndarray) -> np.ndarray:
        """Each text's mean over its windows' rows, L2-normalised (for embeddings)."""
        sums = np.zeros((self.n_texts, per_window.shape[1]), dtype=np.float32)
        np.add.at(sums, self.text_index, per_window)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        means: np.ndarray = sums / np.maximum(norms, 1e-12)
        return means


class Windower:
    """Cuts texts into token windows with one model's tokenizer."""

    def __init__(self, model_dir: Path, *, max_length: int, window_overlap: int) -> None:
        if not 0 <= window_overlap < max_length // 2:
            raise ValueError(
                f"window_overlap must lie in [0, {max_length // 2}), not {window_overlap}"
            )
        path = Path(model_dir) / TOKENIZER_FILE
        if not path.exists():
            raise FileNotFoundError(f"No {TOKENIZER_FILE} in {model_dir}")
        self.tokenizer = Tokenizer.from_file(str(path))
        # A tokenizer.json may carry its own truncation and padding (all-MiniLM-L6-v2's pads
        # everything to 128): windows replace both.
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length, stride=window_overlap)
        self.max_length = max_length
        self.window_overlap = window_overlap
        self.pad_id = _pad_id(Path(model_dir), self.tokenizer)

    def windows(self, texts: Sequence[str]) -> Windows:
        """Tokenise ``texts``; a text longer than ``max_length`` tokens becomes several windows."""
        input_ids: list[list[int]] = []
        text_index: list[int] = []
        for i, encoding in enumerate(self.tokenizer.encode_batch(list(texts))):
            for part in (encoding, *encoding.overflowing):
                input_ids.append(part.ids)
                text_index.append(i)
        return Windows(input_ids, np.asarray(text_index, dtype=np.int64), len(texts))

    @staticmethod
    def batches(
        windows: Windows, batch_size: int, slack_tokens: int | None = None
    ) -> Iterator[np.ndarray]:
        """Window indices in batches of similar length (longest first), to cut padding: at
        most ``batch_size`` windows, and with ``slack_tokens`` a new batch starts where a
        window is more than that many tokens shorter than its batch's longest."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        lengths = windows.lengths()
        order = np.argsort(-lengths, kind="stable")
        start = 0
        for end in range(1, len(order) + 1):
            full = end - start == batch_size
            cut = (
                slack_tokens is not None
                and end < len(order)
                and lengths[order[start]] - lengths[order[end]] > slack_tokens
            )
            if full or cut or end == len(order):
                yield order[start:end]
                start = end

    def pad(self, windows: Windows, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(input_ids, attention_mask)`` as int64 arrays for the windows at ``indices``."""
        rows = [windows.input_ids[i] for i in indices]
        width = max(len(ids) for ids in rows)
        ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for row, tokens in enumerate(rows):
            ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1
        return ids, mask

    def passes(
        self, windows: Windows, batch_size: int, slack_tokens: int | None = None
    ) -> list[Pass]:
        """Every forward pass of ``windows``: length-sorted batches (``batches``), padded."""
        batches = self.batches(windows, batch_size, slack_tokens)
        return [Pass(indices, *self.pad(windows, indices)) for indices in batches]

    def run(
        self,
        windows: Windows,
        forward: Callable[[np.ndarray, np.ndarray], np.ndarray],
        *,
        width: int,
        batch_size: int,
    ) -> np.ndarray:
        """The one batching loop: ``forward(input_ids, attention_mask)`` over length-sorted
        padded batches of ``windows``; returns its ``width`` outputs per window, in window
        order. Every backend scores, and training embeds, through this loop."""
        # Padded one pass at a time, so embedding a large corpus holds one pass in memory.
        passes = (Pass(i, *self.pad(windows, i)) for i in self.batches(windows, batch_size))
        return run_passes(passes, forward, len(windows), width)


@dataclass(frozen=True)
class Pass:
    """One forward pass: which windows it holds and their padded ids and mask."""

    indices: np.ndarray
    input_ids: np.ndarray
    attention_mask: np.ndarray

    @property
    def padded_tokens(self) -> int:
        return int(self.input_ids.size)


def run_passes(
    passes: Iterable[Pass],
    forward: Callable[[np.ndarray, np.ndarray], np.ndarray],
    n_windows: int,
    width: int,
) -> np.ndarray:
    """``forward`` over padded passes; its ``width`` outputs per window, in window order."""
    per_window = np.zeros((n_windows, width), dtype=np.float32)
    for step in passes:
        per_window[step.indices] = forward(step.input_ids, step.attention_mask)
    return per_window


def _pad_id(model_dir: Path, tokenizer: Tokenizer) -> int:
    """The model's padding id: ``config.json`` says it; else the tokenizer's pad token."""
    config = model_dir / "config.json"
    if config.exists():
        pad = json.loads(config.read_text(encoding="utf-8")).get("pad_token_id")
        if isinstance(pad, int):
            return pad
    for token in ("[PAD]", "<pad>"):
        found = tokenizer.token_to_id(token)
        if found is not None:
            return int(found)
    return 0
