"""Backends side by side: torch vs ONNX Runtime (fp32 and int8) on this machine.

Each backend runs in its own process, so each peak memory figure is that backend's alone.
All score the same texts (about 200 characters, all attributes) at one batch size; the
table gives texts/s, peak resident memory, the ratios to torch, and how far each
backend's probabilities are from torch's. On a GPU machine the rows are torch fp16 and
ONNX Runtime's CUDA provider instead (install onnxruntime-gpu for that row).

    python benchmarks/backends.py [--texts 1024] [--batch-size 32] [--onnx-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from throughput import make_texts, peak_rss_mib

if TYPE_CHECKING:
    from perspective_local.models.backend import Backend

CPU_ROWS = ("torch-fp32", "onnx-fp32", "onnx-int8")
GPU_ROWS = ("torch-fp16", "onnx-cuda")


def load(row: str, onnx_dir: Path) -> Backend:
    if row.startswith("torch"):
        from perspective_local.models import HeadsBackend

        return HeadsBackend.default(device="cuda" if row == "torch-fp16" else "cpu")
    from perspective_local.models.backends.onnx import OnnxBackend

    precision = "int8" if row == "onnx-int8" else "fp32"
    return OnnxBackend(
        onnx_dir, precision=precision, device="cuda" if row == "onnx-cuda" else "cpu"
    )


def worker(row: str, args: argparse.Namespace) -> None:
    """Score in this process and print one JSON line; scores go to ``args.scores``."""
    import numpy as np

    started = time.perf_counter()
    scorer = load(row, args.onnx_dir)
    load_seconds = time.perf_counter() - started
    texts = make_texts(args.texts)
    scorer.score(texts[:64], batch_size=args.batch_size)
    started = time.perf_counter()
    scores = scorer.score(texts, batch_size=args.batch_size)
    seconds = time.perf_counter() - started
    np.save(args.scores, scores.values)
    gpu_mib = None
    if row == "torch-fp16":
        import torch

        gpu_mib = torch.cuda.max_memory_allocated() / 2**20
    print(json.dumps({
        "row": row, "texts_per_s": len(texts) / seconds, "peak_rss_mib": peak_rss_mib(),
        "gpu_peak_mib": gpu_mib, "load_s": load_seconds,
        "device": scorer.device,
    }))  # fmt: skip


def ensure_export(onnx_dir: Path | None) -> Path:
    if onnx_dir is not None and (onnx_dir / "onnx.json").exists():
        return onnx_dir
    target = Path(tempfile.mkdtemp(prefix="onnx-export-"))
    print(f"exporting the default model to {target} (fp32 + int8) ...", flush=True)
    subprocess.run([sys.executable, "-m", "perspective_local.cli", "models", "export-onnx",
                    "--int8", "--no-check", "--out", str(target)], check=True)  # fmt: skip
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--onnx-dir", type=Path, default=None)
    parser.add_argument("--rows", default=None, help="comma-separated rows to run")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--scores", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args)
        return

    import numpy as np
    import torch

    rows = (
        args.rows.split(",")
        if args.rows
        else list(GPU_ROWS if torch.cuda.is_available() else CPU_ROWS)
    )
    onnx_dir = ensure_export(args.onnx_dir)
    results, scores = [], {}
    with tempfile.TemporaryDirectory() as scratch:
        for row in rows:
            path = Path(scratch) / f"{row}.npy"
            done = subprocess.run(
                [sys.executable, __file__, "--worker", row, "--scores", str(path),
                 "--texts", str(args.texts), "--batch-size", str(args.batch_size),
                 "--onnx-dir", str(onnx_dir)],
                capture_output=True, text=True,
            )  # fmt: skip
            if done.returncode != 0:
                print(f"{row}: failed\n{done.stderr[-2000:]}")
                continue
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
            scores[row] = np.load(path)
    if not results:
        return
    base = results[0]
    print(
        f"\n{args.texts} texts of ~200 characters, batch size {args.batch_size}, "
        f"{torch.get_num_threads()} CPU threads; ratios and differences against {base['row']}\n"
    )
    print(f"{'backend':<11} {'device':<22} {'texts/s':>8} {'x':>6} {'peak RSS MiB':>13} {'x':>6} "
          f"{'mean |dp|':>10} {'max |dp|':>9}")  # fmt: skip
    for r in results:
        gap = np.abs(scores[r["row"]] - scores[base["row"]])
        print(f"{r['row']:<11} {r['device']:<22} {r['texts_per_s']:>8.1f} "
              f"{r['texts_per_s'] / base['texts_per_s']:>6.2f} {r['peak_rss_mib']:>13.0f} "
              f"{r['peak_rss_mib'] / base['peak_rss_mib']:>6.2f} {gap.mean():>10.4f} "
              f"{gap.max():>9.4f}")  # fmt: skip
        if r["gpu_peak_mib"]:
            print(f"{'':<11} peak GPU memory {r['gpu_peak_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
