"""A real backend as the batcher's pipeline, recording every batch and able to hold the
model busy on purpose (for tests of batching, cancellation and deadlines)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from perspective_local.models.backend import Padded, Tokenized


class HeldPipeline:
    """The real backend as a pipeline, recording every batch; ``hold()`` makes the next
    forward pass wait until ``release()``, to keep the model busy on purpose."""

    def __init__(self, scorer: Any) -> None:
        self.scorer = scorer
        self.attributes = scorer.attributes
        #: Per batch that reached the model: its windows' token lengths.
        self.batches: list[list[int]] = []
        self.pads = 0
        self._gate: threading.Event | None = None
        self.in_forward = threading.Event()

    def __getattr__(self, name: str) -> Any:
        # The rest of the backend (kind, model_version, device, ...), for a real server.
        return getattr(self.scorer, name)

    def hold(self) -> None:
        """Make the next forward pass wait for ``release()``; ``in_forward`` is set once it has
        started."""
        self.in_forward.clear()
        self._gate = self._held = threading.Event()

    def release(self) -> None:
        self._held.set()

    def tokenize(self, texts: Sequence[str]) -> Tokenized:
        tokenized: Tokenized = self.scorer.tokenize(texts)
        return tokenized

    def pad(self, tokenized: Tokenized, batch_size: int | None = None) -> Padded:
        self.pads += 1
        padded: Padded = self.scorer.pad(tokenized, batch_size)
        return padded

    def forward(self, padded: Padded) -> tuple[np.ndarray, ...]:
        self.batches.append([int(n) for n in padded.tokenized.parts[0].lengths()])
        self.in_forward.set()
        if self._gate is not None:
            gate, self._gate = self._gate, None
            gate.wait(30)
        outputs: tuple[np.ndarray, ...] = self.scorer.forward(padded)
        return outputs

    def finish(self, padded: Padded, outputs: tuple[np.ndarray, ...]) -> np.ndarray:
        rows: np.ndarray = self.scorer.finish(padded, outputs)
        return rows


async def until(condition: Any, seconds: float = 30) -> None:
    for _ in range(int(seconds * 100)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


async def occupy(batcher: Any, pipeline: HeldPipeline, text: str) -> asyncio.Task[Any]:
    """Submit ``text`` and hold the model on its batch until ``pipeline.release()``."""
    pipeline.hold()
    task = asyncio.create_task(batcher.submit([text]))
    await until(pipeline.in_forward.is_set)
    return task


def wait_until(condition: Any, seconds: float = 30) -> None:
    """``until`` for a thread without an event loop."""
    import time

    for _ in range(int(seconds * 100)):
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError("condition not reached")
