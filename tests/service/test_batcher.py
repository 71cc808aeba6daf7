"""The dynamic batcher with the real model: coalescing, order, length grouping, backpressure."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from perspective_local.errors import NotReady, Overloaded
from perspective_local.service.app import score_function
from perspective_local.service.batcher import Batcher


def recording(scorer: Any, calls: list[list[str]]) -> Any:
    score = score_function(scorer, 32)

    def run(texts: Sequence[str]) -> np.ndarray:
        calls.append(list(texts))
        return score(texts)

    return run


def test_concurrent_submits_share_batches_and_keep_their_rows(default_scorer: Any) -> None:
    texts = [f"Comment number {i}: {'you idiot' if i % 3 == 0 else 'thanks'}" for i in range(24)]
    calls: list[list[str]] = []

    async def main() -> list[np.ndarray]:
        batcher = Batcher(recording(default_scorer, calls), max_batch_texts=8, max_wait_ms=20)
        batcher.start()
        try:
            return await asyncio.gather(*(batcher.submit([t]) for t in texts))
        finally:
            await batcher.close()

    results = asyncio.run(main())
    assert len(calls) <= 4  # 24 single-text requests in batches of at most 8
    assert all(len(c) <= 8 for c in calls)
    expected = default_scorer.score(texts).values
    got = np.vstack(results)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_batches_group_texts_of_similar_length(default_scorer: Any) -> None:
    short = [f"hi {i}" for i in range(8)]
    long = [("a long comment about many things " * 12) + str(i) for i in range(8)]
    interleaved = [t for pair in zip(short, long, strict=True) for t in pair]
    calls: list[list[str]] = []

    async def main() -> None:
        batcher = Batcher(recording(default_scorer, calls), max_batch_texts=8, max_wait_ms=50)
        batcher.start()
        try:
            await asyncio.gather(*(batcher.submit([t]) for t in interleaved))
        finally:
            await batcher.close()

    asyncio.run(main())
    assert sorted(map(sorted, calls)) == sorted([sorted(short), sorted(long)])


def test_full_queue_is_refused_at_once(default_scorer: Any) -> None:
    async def main() -> None:
        batcher = Batcher(
            score_function(default_scorer, 8), max_batch_texts=4, max_admitted_texts=4
        )
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
        batcher = Batcher(score_function(default_scorer, 8), max_batch_texts=2, max_wait_ms=0)
        batcher.start()
        tasks = [asyncio.create_task(batcher.submit([f"text {i}"])) for i in range(6)]
        await asyncio.sleep(0)
        await batcher.close()
        assert all(t.done() and t.result().shape[0] == 1 for t in tasks)

    asyncio.run(main())
