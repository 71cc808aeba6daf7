"""The dynamic batcher with the real model: coalescing, order, token-budget batches, length
grouping, the pipelined next batch, backpressure, cancellation and deadlines."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from perspective_local.errors import DeadlineExceeded, NotReady, Overloaded
from perspective_local.service.batcher import Batcher, _Entry, timed
from tests.pipelines import HeldPipeline, occupy, until


def test_concurrent_submits_share_batches_and_keep_their_rows(default_scorer: Any) -> None:
    texts = [f"Comment number {i}: {'you idiot' if i % 3 == 0 else 'thanks'}" for i in range(24)]
    pipeline = HeldPipeline(default_scorer)

    async def main() -> list[np.ndarray]:
        batcher = Batcher(pipeline, max_batch_tokens=10_000)
        batcher.start()
        try:
            first = await occupy(batcher, pipeline, "warm")
            rest = [asyncio.create_task(batcher.submit([t])) for t in texts]
            await until(lambda: batcher._queued_texts == len(texts))
            pipeline.release()
            await first
            return list(await asyncio.gather(*rest))
        finally:
            await batcher.close()

    results = asyncio.run(main())
    # All 24 waited for the busy model together, and then went as one batch.
    assert [len(b) for b in pipeline.batches] == [1, 24]
    np.testing.assert_allclose(np.vstack(results), default_scorer.score(texts).values, atol=1e-5)


def queued(scorer: Any, texts: list[str], **options: Any) -> Batcher:
    """A batcher (not started) with one queued request per text, in order."""
    batcher = Batcher(scorer, **options)
    loop = asyncio.new_event_loop()
    for text in texts:
        batcher._enqueue(_Entry(scorer.tokenize([text]), loop.create_future(), 0.0, None))
    return batcher


def drain(batcher: Batcher) -> list[list[int]]:
    """Every batch the queue forms, as its texts' longest window lengths."""
    batches = []
    while batcher._queue:
        batches.append([e.length for e in batcher._take_batch()])
    return batches


def test_batches_stay_within_the_token_budget(default_scorer: Any) -> None:
    texts = [("word " * (5 + 7 * i)).strip() for i in range(30)]
    huge = "a long comment about many things " * 300  # several windows, over the budget
    budget = 400
    batcher = queued(default_scorer, [texts[0], huge, *texts[1:]], max_batch_tokens=budget)
    windows = {len(default_scorer.tokenize([t]).parts[0]) for t in texts}
    assert windows == {1}
    batches = drain(batcher)
    assert sorted(n for b in batches for n in b) == sorted(
        default_scorer.tokenize([t]).parts[0].longest for t in [*texts, huge]
    )
    huge_length = default_scorer.tokenize([huge]).parts[0].longest
    assert [huge_length] in batches  # larger than the budget: alone
    assert all(len(b) * max(b) <= budget for b in batches if b != [huge_length])
    assert len(batches) < len(texts) / 2  # the rest coalesced
    assert batcher._queued_tokens == 0 and batcher._queued_texts == 0


def test_batches_group_texts_of_similar_token_length(default_scorer: Any) -> None:
    short = [f"hi {i}" for i in range(8)]
    long = [("a long comment about many things " * 6) + str(i) for i in range(8)]
    interleaved = [t for pair in zip(short, long, strict=True) for t in pair]
    long_tokens = default_scorer.tokenize(long).parts[0].longest
    short_tokens = default_scorer.tokenize(short).parts[0].longest
    # Room for the 8 long texts, or for the 8 short ones, not for the short ones and a long one.
    batcher = queued(default_scorer, interleaved, max_batch_tokens=8 * long_tokens)
    batches = drain(batcher)
    assert [sorted(b) for b in batches] == [
        sorted(default_scorer.tokenize([t]).parts[0].longest for t in group)
        for group in (short, long)
    ]
    assert max(batches[0]) <= short_tokens < min(batches[1])
    # A cap on texts applies beside the token budget.
    capped = drain(queued(default_scorer, interleaved, max_batch_texts=3))
    assert [len(b) for b in capped] == [3, 3, 3, 3, 3, 1]


def test_the_next_batch_is_padded_while_the_model_is_busy(default_scorer: Any) -> None:
    pipeline = HeldPipeline(default_scorer)

    async def main() -> None:
        batcher = Batcher(pipeline, max_batch_tokens=64)
        batcher.start()
        try:
            first = await occupy(batcher, pipeline, "the first batch")
            # A full batch's worth arrives while the model is busy: padded ahead of time.
            more = [asyncio.create_task(batcher.submit([f"text {i}"])) for i in range(40)]
            await until(lambda: pipeline.pads >= 2)
            assert len(pipeline.batches) == 1  # still only the first batch in the model
            pipeline.release()
            await asyncio.gather(first, *more)
        finally:
            await batcher.close()

    asyncio.run(main())


def test_cancelled_requests_are_dropped_before_their_batch_runs(default_scorer: Any) -> None:
    pipeline = HeldPipeline(default_scorer)

    async def main() -> None:
        batcher = Batcher(pipeline)
        batcher.start()
        try:
            first = await occupy(batcher, pipeline, "busy")
            gone = [asyncio.create_task(batcher.submit([f"gone {i}" * 3])) for i in range(5)]
            kept = asyncio.create_task(batcher.submit(["kept"]))
            await until(lambda: batcher._queued_texts == 6)
            for task in gone:
                task.cancel()
            pipeline.release()
            await first
            assert (await kept).shape[0] == 1
            assert all(t.cancelled() for t in gone)
        finally:
            await batcher.close()
        assert batcher.metrics.dropped.labels("cancelled")._value.get() == 5
        assert batcher.admitted == 0

    asyncio.run(main())
    assert len(pipeline.batches) == 2 and len(pipeline.batches[1]) == 1  # only "kept" ran


def test_requests_past_their_deadline_are_dropped(default_scorer: Any) -> None:
    pipeline = HeldPipeline(default_scorer)

    async def late(batcher: Batcher) -> np.ndarray:
        with timed(0.05):
            return await batcher.submit(["too late"])

    async def main() -> None:
        batcher = Batcher(pipeline)
        batcher.start()
        try:
            first = await occupy(batcher, pipeline, "busy")
            waiting = asyncio.create_task(late(batcher))
            await asyncio.sleep(0.2)  # its deadline passes while the model is busy
            pipeline.release()
            with pytest.raises(DeadlineExceeded):
                await waiting
            await first
            with pytest.raises(DeadlineExceeded), timed(0):
                await batcher.submit(["already late"])
        finally:
            await batcher.close()
        assert batcher.metrics.dropped.labels("deadline")._value.get() == 2

    asyncio.run(main())
    assert len(pipeline.batches) == 1


def test_full_queue_is_refused_at_once(default_scorer: Any) -> None:
    async def main() -> None:
        batcher = Batcher(default_scorer, max_admitted_texts=4)
        batcher.start()
        try:
            first = asyncio.create_task(batcher.submit(["one", "two", "three", "four"]))
            await asyncio.sleep(0)  # let it be admitted
            with pytest.raises(Overloaded):
                await batcher.submit(["five"])
            assert batcher.metrics.overloaded._value.get() == 1
            with pytest.raises(Overloaded, match="Send fewer texts"):
                await batcher.submit(["x"] * 5)
            assert (await first).shape[0] == 4
            assert (await batcher.submit(["five"])).shape[0] == 1  # room again
        finally:
            await batcher.close()
        with pytest.raises(NotReady):
            await batcher.submit(["after close"])

    asyncio.run(main())


def test_close_finishes_queued_work(default_scorer: Any) -> None:
    async def main() -> None:
        batcher = Batcher(default_scorer, max_batch_tokens=16)
        batcher.start()
        tasks = [asyncio.create_task(batcher.submit([f"text {i}"])) for i in range(6)]
        await asyncio.sleep(0)  # admitted, some still being tokenised
        await batcher.close()
        assert all(t.done() and t.result().shape[0] == 1 for t in tasks)

    asyncio.run(main())
