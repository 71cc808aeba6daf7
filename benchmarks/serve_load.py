"""Load test of ``perspective-local serve``: texts/s and latency at concurrency 1, 16 and 64.

Starts the server in a subprocess (the load generator runs here, on the same machine),
drives unary AnalyzeComment and ScoreBatch over gRPC, and compares with the in-process
throughput of the same model on the same texts, measured in the same run. It then starts
a second server with max_batch_texts=1 and max_wait_ms=0 (one request, one forward pass)
to show what dynamic batching buys.

    python benchmarks/serve_load.py                 # CPU or GPU, whatever "auto" picks
    python benchmarks/serve_load.py --seconds 5 --device cpu
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass

import grpc

from perspective_local.proto import commentanalyzer_pb2 as ca
from perspective_local.proto import commentanalyzer_pb2_grpc as ca_grpc
from perspective_local.proto import perspective_local_v1_pb2 as pl
from perspective_local.proto import perspective_local_v1_pb2_grpc as pl_grpc

SENTENCES = (
    "Thanks for writing this, I learned a lot.",
    "You are a complete idiot and nobody wants you here.",
    "I disagree with the second point, but the data on costs is convincing.",
    "What a stupid thing to say.",
    "My grandmother went through the same thing when the factory closed.",
    "Could you share the source for that claim?",
    "Shut up, you pathetic loser.",
    "This is the best article I have read all week.",
    "The council should publish the budget before the vote, not after.",
    "Honestly I have no idea what you are talking about.",
)
SERVER = """
import asyncio
from perspective_local.service.app import serve
from perspective_local.settings import Settings
asyncio.run(serve(Settings.load(host="127.0.0.1", grpc_port=0, http_port=0)))
"""


def make_texts(n: int, seed: int = 0) -> list[str]:
    """Comments of one to four sentences, like a typical moderation queue."""
    rng = random.Random(seed)
    return [" ".join(rng.choices(SENTENCES, k=rng.randint(1, 4))) for _ in range(n)]


@dataclass
class Cell:
    method: str
    concurrency: int
    texts: int
    seconds: float
    latencies: list[float]

    @property
    def texts_per_second(self) -> float:
        return self.texts / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def in_process(texts: list[str], device: str, batch_size: int) -> tuple[float, str]:
    from perspective_local.models.backends.heads import HeadsBackend

    scorer = HeadsBackend.default(device=device)
    scorer.score(texts[:64], batch_size=batch_size)  # warm-up
    started = time.perf_counter()
    scorer.score(texts, batch_size=batch_size)
    return len(texts) / (time.perf_counter() - started), str(scorer.encoder.device)


def start_server(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **env, "PERSPECTIVE_LOCAL_CONFIG": ""},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if "serving model" not in line:
        process.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    target = line.split("gRPC ", 1)[1].split(",", 1)[0]
    return process, target


async def drive(
    target: str, method: str, concurrency: int, texts: list[str], seconds: float, per_call: int
) -> Cell:
    """``concurrency`` workers call back to back for ``seconds`` (bounded by the text pool)."""
    async with grpc.aio.insecure_channel(target) as channel:
        analyzer = ca_grpc.CommentAnalyzerStub(channel)  # type: ignore[no-untyped-call]
        local = pl_grpc.PerspectiveLocalStub(channel)  # type: ignore[no-untyped-call]
        await local.GetModelInfo(pl.GetModelInfoRequest(), timeout=30)
        latencies: list[float] = []
        done = 0
        cursor = 0
        started = time.perf_counter()
        stop_at = started + seconds

        async def worker() -> None:
            nonlocal done, cursor
            while time.perf_counter() < stop_at and cursor < len(texts):
                chunk = texts[cursor : cursor + per_call]
                cursor += per_call
                began = time.perf_counter()
                if method == "AnalyzeComment":
                    await analyzer.AnalyzeComment(
                        ca.AnalyzeCommentRequest(
                            comment=ca.TextEntry(text=chunk[0]),
                            requested_attributes={"TOXICITY": ca.AttributeParameters()},
                            languages=["en"],
                        ),
                        timeout=60,
                    )
                else:
                    await local.ScoreBatch(pl.ScoreBatchRequest(texts=chunk), timeout=120)
                latencies.append(time.perf_counter() - began)
                done += len(chunk)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return Cell(method, concurrency, done, time.perf_counter() - started, latencies)


def table(title: str, cells: list[Cell], reference: float) -> None:
    print(f"\n{title}")
    print(f"{'method':<15}{'conc':>5}{'texts/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'vs in-proc':>12}")
    for c in cells:
        print(
            f"{c.method:<15}{c.concurrency:>5}{c.texts_per_second:>10.1f}"
            f"{c.percentile(0.5):>9.1f}{c.percentile(0.99):>9.1f}"
            f"{c.texts_per_second / reference:>12.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="per cell")
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--batch-size", type=int, default=32, help="windows per forward pass (both sides)"
    )
    parser.add_argument(
        "--max-batch-texts", type=int, default=128, help="server: most texts per model call"
    )
    parser.add_argument("--score-batch", type=int, default=32, help="texts per ScoreBatch call")
    parser.add_argument("--concurrency", default="1,16,64")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    pool = make_texts(200_000)

    reference, device = in_process(make_texts(2048, seed=1), args.device, args.batch_size)
    print(f"device {device}; in-process HeadsBackend.score: {reference:.1f} texts/s "
          f"(batch_size {args.batch_size})")  # fmt: skip

    env = {"PERSPECTIVE_LOCAL_DEVICE": args.device,
           "PERSPECTIVE_LOCAL_FORWARD_BATCH_WINDOWS": str(args.batch_size),
           "PERSPECTIVE_LOCAL_MAX_BATCH_TEXTS": str(args.max_batch_texts),
        # Room for every ScoreBatch call in flight at the top concurrency (no 429s).
        "PERSPECTIVE_LOCAL_MAX_ADMITTED_TEXTS":
            str(max(1024, max(levels) * args.score_batch))}  # fmt: skip
    server, target = start_server(env)
    try:
        cells = []
        for method, per_call in (("AnalyzeComment", 1), ("ScoreBatch", args.score_batch)):
            for level in levels:
                cells.append(
                    asyncio.run(drive(target, method, level, pool, args.seconds, per_call))
                )
    finally:
        server.terminate()
        server.wait(30)
    title = f"batched server (max_batch_texts {args.max_batch_texts}, batch_size {args.batch_size})"
    table(title, cells, reference)

    unbatched_env = {**env, "PERSPECTIVE_LOCAL_MAX_BATCH_TEXTS": "1",
                     "PERSPECTIVE_LOCAL_MAX_WAIT_MS": "0"}  # fmt: skip
    server, target = start_server(unbatched_env)
    try:
        single = [asyncio.run(drive(target, "AnalyzeComment", lv, pool, args.seconds, 1))
                  for lv in levels]  # fmt: skip
    finally:
        server.terminate()
        server.wait(30)
    table("one request, one forward (max_batch_texts 1, max_wait_ms 0)", single, reference)

    top = max(levels)
    batched = next(c for c in cells if c.method == "AnalyzeComment" and c.concurrency == top)
    batch_rpc = next(c for c in cells if c.method == "ScoreBatch" and c.concurrency == top)
    unbatched = next(c for c in single if c.concurrency == top)
    print(f"\nat concurrency {top}:")
    print(f"  served/in-process, AnalyzeComment: {batched.texts_per_second / reference:.2f}")
    print(f"  served/in-process, ScoreBatch:     {batch_rpc.texts_per_second / reference:.2f}")
    print(
        "  batched/one-forward-per-request (AnalyzeComment): "
        f"{batched.texts_per_second / unbatched.texts_per_second:.1f}x"
    )


if __name__ == "__main__":
    main()
