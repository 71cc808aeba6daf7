"""Load test of ``perspective-local serve`` that cannot flatter the server.

Three kinds of process, never sharing one:

* the in-process reference: the server's own backend (``models.routing.load_backend`` on
  the same settings) scoring the same texts, in a subprocess pinned to the server's CPUs;
* the server (``service.app.serve``), a subprocess pinned to those same CPUs, with the
  same thread counts (``OMP_NUM_THREADS`` = its CPU count; ONNX Runtime and torch default
  to one intra-op thread per allowed CPU);
* the load generator, a subprocess pinned to the other CPUs.

It prints the in-process throughput (all texts, length-sorted, in forward passes), the
in-process one-text-per-call rate and its p50 latency ("batch-1"), and for REST
``POST /v1alpha1/comments:analyze``, gRPC ``AnalyzeComment`` and gRPC ``ScoreBatch`` at
each concurrency: texts/s, p50/p99 latency, served/in-process ratio, errors (any non-200
or non-OK answer, 429 included) and the load generator's CPU use (100% = one core busy;
its event loop is one thread, so near 100% the generator, not the server, may be the
limit). It ends with the batching bound (sorted rate / one-per-call rate), how much of it
batched serving gets, and p50 at concurrency 1 against the in-process batch-1 p50.

``--soak-minutes M`` instead drives REST at concurrency 256 for M minutes (5 if no value),
sampling the server's RSS, and checks that RSS at the end is within 10% of RSS after the
first minute.

    python benchmarks/serve_load.py                          # the full table
    python benchmarks/serve_load.py --seconds 2 --concurrency 1,16 --texts 256   # smoke
    python benchmarks/serve_load.py --backends heads --text-chars 200
    python benchmarks/serve_load.py --server-env PERSPECTIVE_LOCAL_MAX_WAIT_MS=2
    python benchmarks/serve_load.py --soak-minutes 5
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

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
SERVING = re.compile(r"gRPC (\S+), HTTP (\S+)")
METHODS = ("REST", "AnalyzeComment", "ScoreBatch")
SOAK_CONCURRENCY = 256
SOAK_TOLERANCE = 0.10
#: Generator CPU use (in cores) above this draws a warning: its event loop is one thread.
GENERATOR_BUSY = 0.9


def make_texts(n: int, seed: int = 0, chars: int | None = None) -> list[str]:
    """Comments of one to four sentences, like a typical moderation queue; with ``chars``,
    sentences joined until the text is ``chars`` characters long, cut there."""
    rng = random.Random(seed)
    if chars is None:
        return [" ".join(rng.choices(SENTENCES, k=rng.randint(1, 4))) for _ in range(n)]
    texts = []
    for _ in range(n):
        text = rng.choice(SENTENCES)
        while len(text) < chars:
            text += " " + rng.choice(SENTENCES)
        texts.append(text[:chars].rstrip())
    return texts


@dataclass(frozen=True)
class TextSpec:
    """How every process rebuilds the same text pool."""

    n: int
    seed: int
    chars: int | None

    def texts(self) -> list[str]:
        return make_texts(self.n, self.seed, self.chars)


# --- CPUs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    """CPUs of the server side (server and in-process reference) and of the generator;
    ``None`` where nothing is pinned."""

    server: frozenset[int] | None
    generator: frozenset[int] | None
    warning: str | None = None


def place(server_cpus: int | None) -> Placement:
    """Split the allowed CPUs: the server side gets ``server_cpus`` (default ceil(N/2)),
    the load generator the rest."""
    if not hasattr(os, "sched_setaffinity"):
        return Placement(None, None, "WARNING: no os.sched_setaffinity here; nothing pinned")
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        return Placement(
            None,
            None,
            f"WARNING: only CPU {allowed} allowed; nothing pinned, "
            "server and load generator share it",
        )
    count = server_cpus or math.ceil(len(allowed) / 2)
    if not 1 <= count < len(allowed):
        raise SystemExit(f"--server-cpus must be 1..{len(allowed) - 1}")
    return Placement(frozenset(allowed[:count]), frozenset(allowed[count:]))


def cpu_list(cpus: frozenset[int] | None) -> str:
    return "unpinned" if cpus is None else "CPUs " + ",".join(map(str, sorted(cpus)))


def affinity(pid: int = 0) -> str:
    """The CPUs ``pid`` (0: this process) may run on, as the kernel reports them."""
    if not hasattr(os, "sched_getaffinity"):
        return "unknown"
    return ",".join(map(str, sorted(os.sched_getaffinity(pid))))


def spawn(
    argv: list[str],
    cpus: frozenset[int] | None,
    env: dict[str, str],
    stdout: int | None = subprocess.PIPE,
) -> subprocess.Popen[str]:
    """Start ``argv`` on ``cpus`` (before exec, so thread pools see the affinity)."""
    pin = None if cpus is None else (lambda: os.sched_setaffinity(0, cpus))
    return subprocess.Popen(argv, stdout=stdout, text=True, env=env, preexec_fn=pin)


def model_env(
    placement: Placement, backends: str | None, device: str, extra: dict[str, str]
) -> dict[str, str]:
    """Environment of the server and of the in-process reference: the same settings."""
    env = {**os.environ, "PERSPECTIVE_LOCAL_CONFIG": "", "PERSPECTIVE_LOCAL_DEVICE": device}
    if backends:
        env["PERSPECTIVE_LOCAL_BACKENDS"] = backends
    if placement.server is not None:
        threads = str(len(placement.server))
        env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    env.update(extra)
    return env


def run_child(
    role: str, payload: dict[str, Any], cpus: frozenset[int] | None, env: dict[str, str]
) -> Any:
    """Run this script as ``role`` in its own process; its last stdout line is JSON."""
    argv = [sys.executable, str(Path(__file__).resolve()), role, json.dumps(payload)]
    process = spawn(argv, cpus, env)
    out, _ = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"{role} failed with exit code {process.returncode}")
    return json.loads(out.strip().splitlines()[-1])


# --- the in-process reference ---------------------------------------------------------


def in_process(payload: dict[str, Any]) -> dict[str, Any]:
    """The server's backend, loaded as the server loads it, on the same texts."""
    from perspective_local.models.routing import load_backend, loaded_backends
    from perspective_local.settings import Settings

    settings = Settings.load()
    scorer = load_backend(settings)
    texts = TextSpec(**payload["texts"]).texts()
    size = settings.forward_batch_windows
    scorer.score(texts[:64], batch_size=size)  # warm-up
    for text in texts[:8]:
        scorer.score([text], batch_size=size)

    latencies: list[float] = []
    stop_at = time.perf_counter() + payload["seconds"]
    for text in itertools.cycle(texts):
        began = time.perf_counter()
        scorer.score([text], batch_size=size)
        latencies.append(time.perf_counter() - began)
        if len(latencies) >= 20 and time.perf_counter() > stop_at:
            break
    started = time.perf_counter()
    scorer.score(texts, batch_size=size)
    sorted_rate = len(texts) / (time.perf_counter() - started)

    threads = {
        b.kind: b.session.get_session_options().intra_op_num_threads
        for b in loaded_backends(scorer)
        if hasattr(b, "session")
    }
    if "torch" in sys.modules:
        threads["torch"] = sys.modules["torch"].get_num_threads()
    return {
        "backend": f"{scorer.kind} {scorer.model_version} on {scorer.device}",
        "cpus": affinity(),
        "threads": threads,
        "batch1_p50_ms": percentile(latencies, 0.5),
        "one_per_call": len(latencies) / sum(latencies),
        "sorted": sorted_rate,
    }


# --- the load generator ---------------------------------------------------------------


@dataclass
class Cell:
    """One method at one concurrency, as the load generator saw it."""

    method: str
    concurrency: int
    texts: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: dict[str, int]
    generator_cores: float

    @property
    def texts_per_second(self) -> float:
        return self.texts / self.seconds


def percentile(values: list[float], q: float) -> float:
    """``q`` quantile of ``values`` in seconds, as milliseconds (NaN when empty)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


#: One call: the pool index -> (texts scored, error code or None).
Call = Callable[[int], Awaitable[tuple[int, str | None]]]


async def drive(call: Call, method: str, concurrency: int, seconds: float, warmup: float) -> Cell:
    """``concurrency`` workers call back to back for ``warmup + seconds``. Texts/s counts
    the texts of calls that complete inside the ``seconds`` after the warm-up; latency
    takes every call that completes after the warm-up, the ones still running at the end
    included (they are waited for). Errors count from the first call to the last."""
    indices = itertools.count()
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    texts = 0
    cpu_started, started = time.process_time(), time.perf_counter()
    measure_from = started + warmup
    stop_at = measure_from + seconds

    async def worker() -> None:
        nonlocal texts
        while (began := time.perf_counter()) < stop_at:
            try:
                scored, error = await call(next(indices))
            except Exception as exc:  # a timeout or a dropped connection is an error too
                scored, error = 0, type(exc).__name__
            ended = time.perf_counter()
            if error is not None:
                errors[error] += 1
            elif ended >= measure_from:
                latencies.append(ended - began)
                texts += scored if ended <= stop_at else 0

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cores = (time.process_time() - cpu_started) / (time.perf_counter() - started)
    return Cell(
        method,
        concurrency,
        texts,
        seconds,
        percentile(latencies, 0.5),
        percentile(latencies, 0.99),
        dict(errors),
        cores,
    )


async def drive_rest(
    base: str, texts: list[str], concurrency: int, seconds: float, warmup: float
) -> Cell:
    import httpx

    url = f"{base}/v1alpha1/comments:analyze"
    bodies = [
        json.dumps(
            {"comment": {"text": t}, "requestedAttributes": {"TOXICITY": {}}, "languages": ["en"]}
        ).encode()
        for t in texts
    ]
    headers = {"content-type": "application/json"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def call(i: int) -> tuple[int, str | None]:
            response = await client.post(url, content=bodies[i % len(bodies)], headers=headers)
            return 1, None if response.status_code == 200 else str(response.status_code)

        return await drive(call, "REST", concurrency, seconds, warmup)


async def drive_grpc(
    target: str,
    method: str,
    texts: list[str],
    per_call: int,
    concurrency: int,
    seconds: float,
    warmup: float,
) -> Cell:
    import grpc

    from perspective_local.proto import commentanalyzer_pb2 as ca
    from perspective_local.proto import commentanalyzer_pb2_grpc as ca_grpc
    from perspective_local.proto import perspective_local_v1_pb2 as pl
    from perspective_local.proto import perspective_local_v1_pb2_grpc as pl_grpc

    async with grpc.aio.insecure_channel(target) as channel:
        analyzer = ca_grpc.CommentAnalyzerStub(channel)  # type: ignore[no-untyped-call]
        local = pl_grpc.PerspectiveLocalStub(channel)  # type: ignore[no-untyped-call]
        if method == "AnalyzeComment":
            requests: list[Any] = [
                ca.AnalyzeCommentRequest(
                    comment=ca.TextEntry(text=t),
                    requested_attributes={"TOXICITY": ca.AttributeParameters()},
                    languages=["en"],
                )
                for t in texts
            ]
            rpc, size = analyzer.AnalyzeComment, 1
        else:
            chunks = [
                [texts[(s + j) % len(texts)] for j in range(per_call)]
                for s in range(0, len(texts), per_call)
            ]
            requests = [pl.ScoreBatchRequest(texts=chunk) for chunk in chunks]
            rpc, size = local.ScoreBatch, per_call

        async def call(i: int) -> tuple[int, str | None]:
            try:
                await rpc(requests[i % len(requests)], timeout=120)
            except grpc.aio.AioRpcError as exc:
                return 0, exc.code().name
            return size, None

        return await drive(call, method, concurrency, seconds, warmup)


def load_generator(payload: dict[str, Any]) -> dict[str, Any]:
    """Every requested cell, one after another, as plain dicts, and this process's CPUs."""
    texts = TextSpec(**payload["texts"]).texts()
    seconds, warmup = payload["seconds"], payload["warmup"]
    cells = []
    for method, concurrency in payload["cells"]:
        if method == "REST":
            job = drive_rest(payload["http"], texts, concurrency, seconds, warmup)
        else:
            job = drive_grpc(
                payload["grpc"], method, texts, payload["score_batch"], concurrency, seconds, warmup
            )
        cells.append(asdict(asyncio.run(job)))
    return {"cpus": affinity(), "cells": cells}


# --- the server ---------------------------------------------------------------------------


def start_server(
    cpus: frozenset[int] | None, env: dict[str, str]
) -> tuple[subprocess.Popen[str], str, str]:
    """The server on ``cpus``; returns it, its gRPC target and its HTTP base URL."""
    process = spawn([sys.executable, "-c", SERVER], cpus, env)
    assert process.stdout is not None
    try:
        for line in process.stdout:
            found = SERVING.search(line) if "serving model" in line else None
            if found:
                # Keep draining stdout so that the server can never block on a full pipe.
                threading.Thread(target=process.stdout.read, daemon=True).start()
                print(f"{line.strip()} (pid {process.pid}, CPUs {affinity(process.pid)})")
                return process, found.group(1), found.group(2)
            print(f"server: {line.rstrip()}")
    except BaseException:
        stop_server(process)
        raise
    process.wait()
    raise SystemExit(f"server did not start (exit code {process.returncode})")


def stop_server(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()


def rss_kib(pid: int) -> int:
    """VmRSS of ``pid`` and of all its descendants, in KiB."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    family, frontier = {pid}, [pid]
    while frontier:
        children = [p for p, parent in parents.items() if parent in frontier]
        family.update(children)
        frontier = children
    total = 0
    for member in family:
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        total += int(found.group(1)) if found else 0
    return total


# --- printing -----------------------------------------------------------------------------


def print_table(cells: list[Cell], reference: float) -> None:
    print(
        f"\n{'method':<15}{'conc':>5}{'texts/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'vs in-proc':>12}{'gen CPU':>9}  errors"
    )
    for c in cells:
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(c.errors.items())) or "0"
        print(
            f"{c.method:<15}{c.concurrency:>5}{c.texts_per_second:>10.1f}{c.p50_ms:>9.1f}"
            f"{c.p99_ms:>9.1f}{c.texts_per_second / reference:>12.2f}"
            f"{c.generator_cores:>8.0%}  {errors}"
        )
    for c in cells:
        if c.generator_cores > GENERATOR_BUSY:
            print(
                f"WARNING: the load generator used {c.generator_cores:.0%} of a core for "
                f"{c.method} at {c.concurrency}: that cell may measure the generator"
            )


def print_summary(cells: list[Cell], reference: dict[str, Any]) -> None:
    one, bound = reference["one_per_call"], reference["sorted"] / reference["one_per_call"]
    print(f"\nbatching bound (in-process sorted / one text per call): {bound:.2f}x")
    top = max(c.concurrency for c in cells)
    for c in cells:
        if c.concurrency == top and c.method in ("REST", "AnalyzeComment"):
            gain = c.texts_per_second / one
            print(
                f"  {c.method} at {top}: {gain:.2f}x one text per call, "
                f"{gain / bound:.2f} of the bound"
            )
    batch1 = reference["batch1_p50_ms"]
    for c in cells:
        if c.concurrency == 1 and c.method != "ScoreBatch":
            delta = c.p50_ms - batch1
            print(
                f"p50 at concurrency 1, {c.method}: {c.p50_ms:.1f} ms, in-process batch-1 "
                f"{batch1:.1f} ms: {delta:+.1f} ms "
                f"({'within' if delta <= 5 else 'NOT within'} 5 ms)"
            )
    errors = sum(sum(c.errors.values()) for c in cells)
    print(f"errors in all cells: {errors}")


# --- main -----------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per cell")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds per cell")
    parser.add_argument("--concurrency", default="1,16,64,256")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--score-batch", type=int, default=32, help="texts per ScoreBatch call")
    parser.add_argument("--texts", type=int, default=2048, help="size of the text pool")
    parser.add_argument(
        "--text-chars",
        type=int,
        default=None,
        help="texts of exactly this many characters (default: 1-4 sentences)",
    )
    parser.add_argument(
        "--backends",
        default=None,
        help="PERSPECTIVE_LOCAL_BACKENDS for both sides (default: the server's)",
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--server-cpus",
        type=int,
        default=None,
        help="CPUs for the server side (default: half, rounded up)",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for server and in-process reference",
    )
    parser.add_argument(
        "--soak-minutes",
        type=float,
        nargs="?",
        const=5.0,
        default=None,
        help="soak mode: REST at concurrency 256 for M minutes (default 5)",
    )
    parser.add_argument("--rss-every", type=float, default=5.0, help="soak: seconds per RSS sample")
    return parser.parse_args()


def soak(
    args: argparse.Namespace, placement: Placement, env: dict[str, str], texts: TextSpec
) -> None:
    server, target, base = start_server(placement.server, env)
    seconds = args.soak_minutes * 60
    payload = {
        "texts": asdict(texts),
        "seconds": seconds,
        "warmup": 0.0,
        "grpc": target,
        "http": base,
        "score_batch": args.score_batch,
        "cells": [("REST", SOAK_CONCURRENCY)],
    }
    argv = [sys.executable, str(Path(__file__).resolve()), "_load", json.dumps(payload)]
    samples: list[tuple[float, int]] = []
    try:
        started = time.perf_counter()
        generator = spawn(argv, placement.generator, dict(os.environ))
        while generator.poll() is None:
            samples.append((time.perf_counter() - started, rss_kib(server.pid)))
            time.sleep(args.rss_every)
        out = generator.stdout.read() if generator.stdout else ""
        samples.append((time.perf_counter() - started, rss_kib(server.pid)))
    finally:
        stop_server(server)
    if generator.returncode != 0:
        raise SystemExit(f"load generator failed with exit code {generator.returncode}")
    cell = Cell(**json.loads(out.strip().splitlines()[-1])["cells"][0])
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(cell.errors.items())) or "0"
    print(
        f"\nsoak: REST at {SOAK_CONCURRENCY} for {args.soak_minutes:g} min: "
        f"{cell.texts_per_second:.1f} texts/s, p50 {cell.p50_ms:.1f} ms, "
        f"p99 {cell.p99_ms:.1f} ms, errors {errors}"
    )
    after_minute = next(((t, r) for t, r in samples if t >= 60), samples[0])
    end = samples[-1]
    change = (end[1] - after_minute[1]) / after_minute[1]
    verdict = "PASS" if abs(change) <= SOAK_TOLERANCE else "FAIL"
    print(
        f"server RSS at {after_minute[0]:.0f} s: {after_minute[1] / 1024:.1f} MiB; "
        f"at the end ({end[0]:.0f} s): {end[1] / 1024:.1f} MiB; change {change:+.1%} "
        f"-> {verdict} (within {SOAK_TOLERANCE:.0%})"
    )
    if after_minute[0] < 60:
        print("WARNING: the soak ran under a minute; the first sample stands in for minute 1")


def main() -> None:
    args = parse_args()
    placement = place(args.server_cpus)
    if placement.generator is not None:  # this process only waits and samples
        os.sched_setaffinity(0, placement.generator)
    if bad := [item for item in args.server_env if "=" not in item]:
        raise SystemExit(f"--server-env takes KEY=VALUE, not {bad}")
    extra = dict(item.split("=", 1) for item in args.server_env)
    levels = [int(c) for c in args.concurrency.split(",")]
    methods = [m for m in args.methods.split(",") if m]
    if unknown := set(methods) - set(METHODS):
        raise SystemExit(f"--methods: unknown {sorted(unknown)}; known {METHODS}")
    # Room for every ScoreBatch call in flight at the top concurrency; a 429 is an error.
    admitted = str(max(1024, max(levels) * args.score_batch))
    env = model_env(
        placement,
        args.backends,
        args.device,
        {"PERSPECTIVE_LOCAL_MAX_ADMITTED_TEXTS": admitted, **extra},
    )
    texts = TextSpec(args.texts, 1, args.text_chars)
    print(
        f"server and in-process reference: {cpu_list(placement.server)}; "
        f"load generator: {cpu_list(placement.generator)}"
    )
    if placement.warning:
        print(placement.warning)
    settings = {k: v for k, v in env.items() if k.startswith("PERSPECTIVE_LOCAL_") and v}
    print(f"server settings from the environment: {settings}")
    if args.soak_minutes is not None:
        soak(args, placement, env, texts)
        return

    reference = run_child(
        "_inprocess", {"texts": asdict(texts), "seconds": args.seconds}, placement.server, env
    )
    pool = texts.texts()
    mean_chars = sum(map(len, pool)) / len(pool)
    print(
        f"in-process {reference['backend']}, threads {reference['threads']}, "
        f"ran on CPUs {reference['cpus']}, "
        f"{len(pool)} texts of {mean_chars:.0f} characters on average:"
    )
    print(f"  all texts length-sorted: {reference['sorted']:.1f} texts/s (the reference)")
    print(
        f"  one text per call:       {reference['one_per_call']:.1f} texts/s, "
        f"batch-1 p50 {reference['batch1_p50_ms']:.1f} ms"
    )

    server, target, base = start_server(placement.server, env)
    try:
        payload = {
            "texts": asdict(texts),
            "seconds": args.seconds,
            "warmup": args.warmup,
            "grpc": target,
            "http": base,
            "score_batch": args.score_batch,
            "cells": [(m, c) for m in methods for c in levels],
        }
        load = run_child("_load", payload, placement.generator, dict(os.environ))
    finally:
        stop_server(server)
    cells = [Cell(**c) for c in load["cells"]]
    print(f"load generator ran on CPUs {load['cpus']}")
    print_table(cells, reference["sorted"])
    print_summary(cells, reference)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ("_inprocess", "_load"):
        child = in_process if sys.argv[1] == "_inprocess" else load_generator
        print(json.dumps(child(json.loads(sys.argv[2]))))
    else:
        main()
