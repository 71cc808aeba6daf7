"""In-process scoring throughput and peak memory of the default model.

Scores synthetic English texts of about 200 characters at batch sizes 1, 32 and 128 (all
13 attributes, one encoder pass per text) and prints texts/s per batch size, the device,
and the process's peak resident memory.

    python benchmarks/throughput.py [--texts 512] [--device auto]
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
    args = parser.parse_args()

    import torch

    from perspective_local.models import HeadsBackend

    scorer = HeadsBackend.default(device=args.device)
    texts = make_texts(args.texts)
    scorer.score(texts[:64], batch_size=32)  # warm-up: first calls allocate and tune kernels
    print(f"model {scorer.model_version} on {scorer.encoder.device} ({scorer.encoder.dtype})")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor()}")
    print(f"{args.texts} texts of {len(texts[0])} characters, all 13 attributes\n")
    print(f"{'batch size':>10} {'texts/s':>10} {'seconds':>9}")
    for batch_size in (int(b) for b in args.batch_sizes.split(",")):
        # Batch size 1 is slow; a quarter of the texts gives a stable figure sooner.
        sample = texts if batch_size > 1 else texts[: max(64, args.texts // 4)]
        if scorer.encoder.device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        scorer.score(sample, batch_size=batch_size)
        if scorer.encoder.device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        print(f"{batch_size:>10} {len(sample) / seconds:>10.1f} {seconds:>9.2f}")
    print(f"\npeak RSS {peak_rss_mib():.0f} MiB")
    if scorer.encoder.device.type == "cuda":
        print(f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
