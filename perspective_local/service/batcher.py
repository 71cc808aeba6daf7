"""The dynamic batcher: coalesce concurrent requests' texts into model batches.

One asyncio task owns the queue (a deque); callers only append ``(texts, future)`` and
wake it, so no lock guards the queue. The task takes the oldest entry plus the queued
entries closest to it in length (so a batch pads little), up to ``max_batch_texts`` texts,
waiting up to ``max_wait_ms`` for a batch to fill. The model runs on one dedicated worker
thread, off the event loop. Admission is a non-blocking count of texts queued or being
scored: past ``max_admitted_texts`` a request is refused at once with ``Overloaded`` (429 /
RESOURCE_EXHAUSTED) instead of the queue growing without bound.

Every batch scores every head of the model: the encoder pass dominates the cost, so
requests asking for different attributes still share one batch.

Inside ``with timed() as timings:``, ``submit`` adds the time its texts waited in the queue
and spent in the model to ``timings``, for a transport to report (REST's Server-Timing).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import numpy as np

from perspective_local.errors import InternalError, NotReady, Overloaded
from perspective_local.service.metrics import Metrics

log = logging.getLogger(__name__)

#: Scores a list of texts for every head: ``(len(texts), n_heads)`` float32 probabilities.
ScoreFn = Callable[[Sequence[str]], np.ndarray]
#: How many queued entries the batcher looks through to group texts by length.
LOOKAHEAD_BATCHES = 4


@dataclass
class Timings:
    """Where one call's texts spent their time, summed over the call's submits."""

    queue_seconds: float = 0.0
    model_seconds: float = 0.0


_timings: ContextVar[Timings | None] = ContextVar("batcher_timings", default=None)


@contextmanager
def timed() -> Iterator[Timings]:
    """Collect the queue and model time of every ``submit`` made inside (in this task)."""
    timings = Timings()
    token = _timings.set(timings)
    try:
        yield timings
    finally:
        _timings.reset(token)


@dataclass
class _Entry:
    texts: Sequence[str]
    future: asyncio.Future[np.ndarray]
    enqueued: float
    #: Longest text in the entry, in characters; a cheap proxy for its token length.
    length: int = field(init=False)
    #: When its batch went to the model, and when the model answered (perf_counter).
    started: float = 0.0
    finished: float = 0.0

    def __post_init__(self) -> None:
        self.length = max(len(t) for t in self.texts)


class Batcher:
    """Coalesces ``submit()`` calls into batches for ``score``; start it inside a running loop."""

    def __init__(
        self,
        score: ScoreFn,
        *,
        max_batch_texts: int = 32,
        max_wait_ms: float = 2.0,
        max_admitted_texts: int = 1024,
        metrics: Metrics | None = None,
    ) -> None:
        if max_batch_texts < 1 or max_admitted_texts < max_batch_texts:
            raise ValueError(
                "Need 1 <= max_batch_texts <= max_admitted_texts, got "
                f"{max_batch_texts} and {max_admitted_texts}"
            )
        self._score = score
        self.max_batch_texts = max_batch_texts
        self.max_wait = max_wait_ms / 1000
        self.max_admitted_texts = max_admitted_texts
        self.metrics = metrics or Metrics()
        self._queue: deque[_Entry] = deque()
        self._queued_texts = 0
        #: Texts admitted and not yet answered (queued or in the model).
        self.admitted = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # One thread owns the model: batches run one after another, never concurrently.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
        self._closing = False

    def start(self) -> None:
        """Start the batching task on the running event loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="batcher")

    async def close(self) -> None:
        """Refuse new work, finish what is queued, then stop the task and the model thread."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        self._executor.shutdown(wait=True)

    async def submit(self, texts: Sequence[str]) -> np.ndarray:
        """Score ``texts`` for every head, batched with whatever else is waiting."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        if self._closing or self._task is None:
            raise NotReady()
        if len(texts) > self.max_admitted_texts:
            raise Overloaded(
                f"{len(texts)} texts cannot be admitted at once: the server's queue holds "
                f"{self.max_admitted_texts}. Send fewer texts per call."
            )
        if self.admitted + len(texts) > self.max_admitted_texts:
            self.metrics.overloaded.inc()
            raise Overloaded()
        future: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        self.admitted += len(texts)
        entry = _Entry(texts, future, time.perf_counter())
        self._queue.append(entry)
        self._queued_texts += len(texts)
        self.metrics.queue_depth.set(self._queued_texts)
        self._wake.set()
        try:
            scores = await future
        finally:
            self.admitted -= len(texts)
        timings = _timings.get()
        if timings is not None:
            timings.queue_seconds += entry.started - entry.enqueued
            timings.model_seconds += entry.finished - entry.started
        return scores

    def _take_batch(self) -> list[_Entry]:
        """The oldest entry, plus queued entries of similar length, up to max_batch_texts texts."""
        head = self._queue.popleft()
        batch, size = [head], len(head.texts)
        window = [e for e in list(self._queue)[: self.max_batch_texts * LOOKAHEAD_BATCHES]]
        # Nearest in length to the oldest entry first; arrival order breaks ties.
        for entry in sorted(window, key=lambda e: abs(e.length - head.length)):
            if size + len(entry.texts) > self.max_batch_texts:
                continue
            batch.append(entry)
            size += len(entry.texts)
            if size == self.max_batch_texts:
                break
        if len(batch) > 1:
            taken = {id(e) for e in batch}
            self._queue = deque(e for e in self._queue if id(e) not in taken)
        self._queued_texts -= size
        self.metrics.queue_depth.set(self._queued_texts)
        return batch

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            if self._queued_texts < self.max_batch_texts and self.max_wait > 0:
                # Give concurrent callers a moment to join a partial batch.
                deadline = self._queue[0].enqueued + self.max_wait
                while self._queued_texts < self.max_batch_texts and not self._closing:
                    remaining = deadline - time.perf_counter()
                    if remaining <= 0:
                        break
                    self._wake.clear()
                    try:
                        await asyncio.wait_for(self._wake.wait(), remaining)
                    except TimeoutError:
                        break
            batch = [e for e in self._take_batch() if not e.future.done()]
            if not batch:
                continue  # every caller in it has gone (cancelled): nothing to score
            texts = [t for e in batch for t in e.texts]
            started = time.perf_counter()
            for entry in batch:
                entry.started = started
                self.metrics.queue_seconds.observe(started - entry.enqueued)
            try:
                scores = await loop.run_in_executor(self._executor, self._score, texts)
            except Exception as exc:
                log.exception("batch failed", extra={"texts": len(texts)})
                for entry in batch:
                    if not entry.future.done():
                        entry.future.set_exception(InternalError())
                del exc
                continue
            finished = time.perf_counter()
            self.metrics.inference_seconds.observe(finished - started)
            self.metrics.batch_size.observe(len(texts))
            self.metrics.texts.inc(len(texts))
            offset = 0
            for entry in batch:
                entry.finished = finished
                rows = scores[offset : offset + len(entry.texts)]
                offset += len(entry.texts)
                if not entry.future.done():
                    entry.future.set_result(rows)
