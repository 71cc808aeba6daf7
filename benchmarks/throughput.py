"""In-process scoring throughput and peak memory of the default model (or of several).

Scores synthetic English texts of about 200 characters at batch sizes 1, 32 and 128 (every
attribute the model serves, one encoder pass per text) and prints texts/s per batch size,
the device, and the process's peak resident memory. With several ``--model-dir``, every
model is measured in the same run, in turns (model A, B, A, B, ... per batch size), so
machine noise falls on all of them alike, and the ratio to the first is printed.

    python benchmarks/throughput.py [--texts 512] [--device auto] [--model-dir DIR ...]
"""

from __future__ import annotations

import argparse
import platform
import random
import resource
import sys
import time

WORDS = (
    "people think the policy would help some families but others argue that costs rise "
    "when cities build housing near transit and schools while taxes and wages change slowly "
    "I remember my grandmother telling stories about the war and how neighbours shared food "
    "why do you believe this matters so much to you could you explain the reasoning behind it"
).split()


def make_texts(n: int, length: int = 200, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        words: list[str] = []
        while sum(len(w) + 1 for w in words) < length:
            words.append(rng.choice(WORDS))
        texts.append(" ".join(words)[:length])
    return texts


def peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=512, help="texts per batch size")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-sizes", default="1,32,128")
    parser.add_argument(
        "--model-dir",
        action="append",
        default=None,
        help="artifact to measure (repeat to compare; default: the packaged one)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="turns per model and batch size")
    args = parser.parse_args()

    import torch

    from perspective_local.models import HeadsBackend

    scorers = [HeadsBackend.load(d, device=args.device) for d in (args.model_dir or [None])]
    texts = make_texts(args.texts)
    for scorer in scorers:
        scorer.score(texts[:64], batch_size=32)  # warm-up: first calls allocate and tune kernels
        print(f"model {scorer.model_version} ({len(scorer.attributes)} attributes) on "
              f"{scorer.encoder.device} ({scorer.encoder.dtype})")  # fmt: skip
    scorer = scorers[0]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor()}")
    print(f"{args.texts} texts of {len(texts[0])} characters, {args.rounds} rounds\n")
    print(f"{'model':>40} {'batch size':>10} {'texts/s':>10} {'vs first':>9}")
    for batch_size in (int(b) for b in args.batch_sizes.split(",")):
        # Batch size 1 is slow; a quarter of the texts gives a stable figure sooner.
        sample = texts if batch_size > 1 else texts[: max(64, args.texts // 4)]
        seconds = [0.0] * len(scorers)
        for _round in range(args.rounds):
            for i, each in enumerate(scorers):
                if each.encoder.device.type == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
                each.score(sample, batch_size=batch_size)
                if each.encoder.device.type == "cuda":
                    torch.cuda.synchronize()
                seconds[i] += time.perf_counter() - start
        rates = [args.rounds * len(sample) / s for s in seconds]
        for each, rate in zip(scorers, rates, strict=True):
            print(f"{each.model_version:>40} {batch_size:>10} {rate:>10.1f} "
                  f"{rate / rates[0]:>9.2f}")  # fmt: skip
    print(f"\npeak RSS {peak_rss_mib():.0f} MiB")
    if scorer.encoder.device.type == "cuda":
        print(f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
