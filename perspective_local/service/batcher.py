"""The dynamic batcher: coalesce concurrent requests' texts into model batches.

Modelled on text-embeddings-inference's queue. Three kinds of work run in three places:

* **tokenising** (per request) and **padding** (per batch) on one preparation thread;
* **forward passes** on one model thread, one batch after another;
* the queue, batch formation and answering on the event loop (one task owns the queue, so
  no lock guards it; callers only append and wake it).

A batch is the oldest queued request plus the queued ones closest to it in token length,
bounded by ``max_batch_tokens`` padded tokens (windows times the longest window; a single
request larger than that runs alone), and optionally by ``max_batch_texts``. An idle model
takes what is queued at once (no timer unless ``max_wait_ms`` asks for one); while the model
is busy the next batch fills, and is padded as soon as it is full, so the model never waits
for the preparation thread when there is work.

Admission is a non-blocking count of texts queued or being scored: past
``max_admitted_texts`` a request is refused at once with ``Overloaded`` (429 /
RESOURCE_EXHAUSTED). A request whose caller has gone (its task cancelled: a REST client
that disconnected, a cancelled gRPC call) or whose deadline has passed is dropped before
its batch runs, and counted.

Inside ``with timed(deadline) as timings:``, ``submit`` adds its tokenization, queue and
inference time to ``timings`` for a transport to report, and refuses work past the deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import numpy as np

from perspective_local.errors import DeadlineExceeded, InternalError, NotReady, Overloaded
from perspective_local.models.backend import Padded, Pipeline, Tokenized
from perspective_local.service.metrics import Metrics

log = logging.getLogger(__name__)

#: How many batches' worth of queued requests the batcher looks through to group by length.
LOOKAHEAD_BATCHES = 4


@dataclass
class Timings:
    """Where one call's texts spent their time (seconds), summed over the call's submits."""

    #: The call's deadline on ``time.perf_counter``'s clock; ``None``: none.
    deadline: float | None = None
    tokenization_seconds: float = 0.0
    queue_seconds: float = 0.0
    inference_seconds: float = 0.0

    def expire_after(self, seconds: float | None) -> None:
        """Drop the call's work still queued ``seconds`` from now (``None``: never)."""
        self.deadline = None if seconds is None else time.perf_counter() + seconds

    def milliseconds(self, total_seconds: float) -> dict[str, float]:
        """``tokenization``, ``queue``, ``inference`` and ``total`` (the whole call's
        ``total_seconds``) in milliseconds, as the transports report them."""
        parts = (self.tokenization_seconds, self.queue_seconds, self.inference_seconds)
        names = ("tokenization", "queue", "inference", "total")
        return {n: 1000 * s for n, s in zip(names, (*parts, total_seconds), strict=True)}


_timings: ContextVar[Timings | None] = ContextVar("batcher_timings", default=None)


@contextmanager
def timed(timeout_seconds: float | None = None) -> Iterator[Timings]:
    """Collect the times of every ``submit`` made inside (in this task), and drop its work
    once ``timeout_seconds`` have passed."""
    timings = Timings()
    timings.expire_after(timeout_seconds)
    token = _timings.set(timings)
    try:
        yield timings
    finally:
        _timings.reset(token)


@dataclass
class _Entry:
    tokenized: Tokenized
    future: asyncio.Future[np.ndarray]
    enqueued: float
    deadline: float | None
    #: When its batch went to the model, and when the model answered (perf_counter).
    started: float = 0.0
    finished: float = 0.0
    padded_tokens: int = field(init=False)

    def __post_init__(self) -> None:
        self.padded_tokens = self.tokenized.padded_tokens

    @property
    def texts(self) -> int:
        return self.tokenized.n_texts

    @property
    def length(self) -> int:
        return self.tokenized.longest


class Batcher:
    """Coalesces ``submit()`` calls into batches for ``pipeline``; start it inside a running
    loop. ``forward_batch_windows`` is the windows per forward pass (``None``: the backend's
    default)."""

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        max_batch_tokens: int = 8192,
        max_batch_texts: int | None = None,
        max_wait_ms: float = 0.0,
        max_admitted_texts: int = 1024,
        forward_batch_windows: int | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        if max_batch_tokens < 1 or (max_batch_texts is not None and max_batch_texts < 1):
            raise ValueError("max_batch_tokens and max_batch_texts must be at least 1")
        if max_batch_texts is not None and max_admitted_texts < max_batch_texts:
            raise ValueError(
                f"Need max_batch_texts <= max_admitted_texts, got {max_batch_texts} and "
                f"{max_admitted_texts}"
            )
        self._pipeline = pipeline
        self.max_batch_tokens = max_batch_tokens
        self.max_batch_texts = max_batch_texts
        self.max_wait = max_wait_ms / 1000
        self.max_admitted_texts = max_admitted_texts
        self.forward_batch_windows = forward_batch_windows
        self.metrics = metrics or Metrics()
        self._queue: deque[_Entry] = deque()
        self._queued_tokens = 0
        self._queued_texts = 0
        #: Texts admitted and not yet answered (being tokenised, queued or in the model).
        self.admitted = 0
        #: Submits being tokenised: closing waits for them to reach the queue.
        self._tokenizing = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._model_task: asyncio.Task[None] | None = None
        #: Set while no batch is in the model's forward passes.
        self._model_free = asyncio.Event()
        self._model_free.set()
        # One thread owns the model: batches run one after another, never concurrently.
        self._model = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
        self._prepare = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepare")
        self._closing = False

    def start(self) -> None:
        """Start the batching task on the running event loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="batcher")

    async def close(self) -> None:
        """Refuse new work, finish what is queued, then stop the task and the threads."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self._model_task is not None:
            await self._model_task
        self._model.shutdown(wait=True)
        self._prepare.shutdown(wait=True)

    async def submit(self, texts: Sequence[str]) -> np.ndarray:
        """Score ``texts`` for every attribute of the pipeline, batched with whatever else
        is waiting: one row per text."""
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
        timings = _timings.get()
        deadline = timings.deadline if timings is not None else None
        if deadline is not None and time.perf_counter() >= deadline:
            self.metrics.dropped.labels("deadline").inc(len(texts))
            raise DeadlineExceeded()
        self.admitted += len(texts)
        try:
            began = time.perf_counter()
            loop = asyncio.get_running_loop()
            self._tokenizing += 1
            try:
                tokenized = await loop.run_in_executor(
                    self._prepare, self._pipeline.tokenize, texts
                )
            finally:
                self._tokenizing -= 1
                self._wake.set()
            enqueued = time.perf_counter()
            self.metrics.tokenization_seconds.observe(enqueued - began)
            entry = _Entry(tokenized, loop.create_future(), enqueued, deadline)
            self._enqueue(entry)
            scores = await entry.future
        finally:
            self.admitted -= len(texts)
        if timings is not None:
            timings.tokenization_seconds += enqueued - began
            timings.queue_seconds += entry.started - entry.enqueued
            timings.inference_seconds += entry.finished - entry.started
        return scores

    def _enqueue(self, entry: _Entry) -> None:
        self._queue.append(entry)
        self._queued_tokens += entry.padded_tokens
        self._queued_texts += entry.texts
        self.metrics.queue_depth.set(self._queued_texts)
        self._wake.set()

    def _full(self) -> bool:
        """Whether the queue holds at least one batch's worth."""
        return self._queued_tokens >= self.max_batch_tokens or (
            self.max_batch_texts is not None and self._queued_texts >= self.max_batch_texts
        )

    def _fits(self, texts: int, windows: int, longest: int) -> bool:
        if self.max_batch_texts is not None and texts > self.max_batch_texts:
            return False
        return windows * longest <= self.max_batch_tokens

    def _take_batch(self) -> list[_Entry]:
        """The oldest entry, plus queued entries of similar token length, within the budget."""
        head = self._queue.popleft()
        batch = [head]
        texts, windows, longest = head.texts, head.tokenized.windows, head.length
        lookahead = max(1, self.max_batch_texts or 0, self.max_batch_tokens // max(1, longest))
        window = list(self._queue)[: lookahead * LOOKAHEAD_BATCHES]
        # Nearest in length to the oldest entry first; arrival order breaks ties.
        for entry in sorted(window, key=lambda e: abs(e.length - head.length)):
            grown = (texts + entry.texts, windows + entry.tokenized.windows,
                     max(longest, entry.length))  # fmt: skip
            if not self._fits(*grown):
                continue
            batch.append(entry)
            texts, windows, longest = grown
        if len(batch) > 1:
            taken = {id(e) for e in batch}
            self._queue = deque(e for e in self._queue if id(e) not in taken)
        for entry in batch:
            self._queued_tokens -= entry.padded_tokens
            self._queued_texts -= entry.texts
        self.metrics.queue_depth.set(self._queued_texts)
        return self._live(batch)

    def _live(self, batch: list[_Entry]) -> list[_Entry]:
        """Drop the entries nobody waits for any more: caller gone, or deadline passed."""
        now = time.perf_counter()
        live = []
        for entry in batch:
            if entry.future.done():  # cancelled: the caller's task has gone
                self.metrics.dropped.labels("cancelled").inc(entry.texts)
            elif entry.deadline is not None and now >= entry.deadline:
                self.metrics.dropped.labels("deadline").inc(entry.texts)
                entry.future.set_exception(DeadlineExceeded())
            else:
                live.append(entry)
        return live

    async def _until(self, timeout: float | None = None) -> None:
        """Sleep until woken (a submit, a finished batch, closing) or ``timeout`` passes."""
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    def _model_busy(self) -> bool:
        return not self._model_free.is_set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                if self._closing and not self._tokenizing:
                    return
                await self._until()
                continue
            # While the model is busy the next batch fills, and is padded once it is full.
            if self._model_busy() and not self._full() and not self._closing:
                await self._until()
                continue
            if self.max_wait > 0 and not self._full() and not self._closing:
                remaining = self._queue[0].enqueued + self.max_wait - time.perf_counter()
                if remaining > 0:
                    await self._until(remaining)
                    continue
            batch = self._take_batch()
            if not batch:
                continue  # every caller in it has gone
            joined = Tokenized.join([e.tokenized for e in batch])
            try:
                padded = await loop.run_in_executor(
                    self._prepare, self._pipeline.pad, joined, self.forward_batch_windows
                )
            except Exception:
                log.exception("padding failed", extra={"texts": joined.n_texts})
                _fail(batch)
                continue
            await self._model_free.wait()
            self._model_free.clear()
            self._model_task = loop.create_task(self._score(batch, padded), name="model")

    async def _score(self, batch: list[_Entry], padded: Padded) -> None:
        """Run one batch's forward passes on the model thread, then answer its callers."""
        loop = asyncio.get_running_loop()
        if all(e.future.done() for e in batch):
            for entry in batch:
                self.metrics.dropped.labels("cancelled").inc(entry.texts)
            self._model_free.set()
            return
        started = time.perf_counter()
        for entry in batch:
            entry.started = started
            self.metrics.queue_seconds.observe(started - entry.enqueued)
        try:
            outputs = await loop.run_in_executor(self._model, self._pipeline.forward, padded)
        except Exception:
            log.exception("batch failed", extra={"texts": padded.tokenized.n_texts})
            _fail(batch)
            return
        finally:
            self._model_free.set()  # the next batch may go
            self._wake.set()
        finished = time.perf_counter()
        n_texts = padded.tokenized.n_texts
        self.metrics.inference_seconds.observe(finished - started)
        self.metrics.batch_size.observe(n_texts)
        self.metrics.batch_tokens.observe(sum(p.padded_tokens for ps in padded.passes for p in ps))
        self.metrics.texts.inc(n_texts)
        # Off the model thread: each text's maximum over its windows, then one slice each.
        try:
            scores = self._pipeline.finish(padded, outputs)
        except Exception:
            log.exception("batch failed", extra={"texts": n_texts})
            _fail(batch)  # never leave a caller waiting
            return
        offset = 0
        for entry in batch:
            entry.finished = finished
            rows = scores[offset : offset + entry.texts]
            offset += entry.texts
            if not entry.future.done():
                entry.future.set_result(rows)


def _fail(batch: list[_Entry]) -> None:
    for entry in batch:
        if not entry.future.done():
            entry.future.set_exception(InternalError())
