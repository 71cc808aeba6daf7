"""What batching can buy on this machine, measured in-process on serve_load.py's texts.

Serving adds work to scoring, never removes it, so in-process throughput bounds what a
server reaches. This prints, for the default model on one device:

* one text per call (what a server doing one forward per request can reach at best);
* every text at once, sorted by length, in forward passes of ``--batch-size`` (the
  in-process reference of serve_load.py), and the ratio of the two: an upper bound on
  "batched serving / one-request-one-forward serving";
* texts taken ``chunk`` at a time in arrival order (what a server's model call holds),
  each chunk scored in length-sorted forward passes, as a share of the reference.

    python benchmarks/batching_bound.py [--texts 1024] [--device auto] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

# Run as a script, this folder is on sys.path: the texts are serve_load.py's.
from serve_load import make_texts

from perspective_local.models.backends.heads import HeadsBackend


def texts_per_second(run: Callable[[], object], texts: int) -> float:
    started = time.perf_counter()
    run()
    return texts / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=1024)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    texts = make_texts(args.texts, seed=1)
    scorer = HeadsBackend.default(device=args.device)
    scorer.score(texts[:64], batch_size=args.batch_size)  # warm-up
    size = args.batch_size

    singles = texts[: min(300, len(texts))]
    one = texts_per_second(lambda: [scorer.score([t], batch_size=1) for t in singles], len(singles))
    reference = texts_per_second(lambda: scorer.score(texts, batch_size=size), len(texts))
    print(f"device {scorer.device}; {len(texts)} texts")
    print(f"one text per call:                  {one:7.1f} texts/s")
    print(f"all texts sorted, passes of {size}:    {reference:7.1f} texts/s")
    print(f"upper bound on batched / one-forward serving: {reference / one:.2f}x")
    for chunk in (size, 2 * size, 4 * size):
        rate = texts_per_second(
            lambda chunk=chunk: [
                scorer.score(texts[i : i + chunk], batch_size=size)
                for i in range(0, len(texts), chunk)
            ],
            len(texts),
        )
        print(
            f"arrival-order calls of {chunk:>3} texts, sorted passes of {size}: {rate:7.1f} "
            f"texts/s ({rate / reference:.2f} of the sorted reference)"
        )


if __name__ == "__main__":
    main()
