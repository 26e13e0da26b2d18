"""Benchmark the runtimes: every backend × precision, the bundled model against the seed setup.

Usage: python bench/bench_runtime.py [--repeats 60] [--out docs/perf_runtime.md]

Measures, per model file and thread count (1 and 2), in a fresh process each (so peak RSS is
that runtime's own): p50/p90 latency per clip at batch 1, clips/s at batch 8, file size and
peak RSS; per model the multiply-adds (MACs) and the compute floor = MACs ÷ the matrix-multiply
peak measured here (float32 GEMM, same thread count), with latency ÷ floor.

Models: the bundled default (12 frames × 96², MobileNetV3-Small ×0.5; its .pt, ONNX, float
TFLite and INT8 TFLite) and the seed project's configuration built from the same code (10
frames × 224², width 1.0, float32; random weights: speed does not depend on them). Variants
run back to back in one invocation: compare them as ratios (this machine is shared).
Needs the dev extras (torch, litert-torch, onnxruntime).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from liveness.config import LivenessConfig, ModelConfig, PreprocessConfig

SEED = LivenessConfig(PreprocessConfig(num_frames=10, image_size=224), ModelConfig(width_mult=1.0))


def macs(cfg: LivenessConfig) -> float:
    """Multiply-adds of one clip (convolutions and matrix products, as torch counts them)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from liveness.model import LivenessNet

    p = cfg.preprocess
    model = LivenessNet(cfg).eval()
    x = (
        torch.rand(1, p.num_frames, 3, p.image_size, p.image_size),
        torch.randn(1, p.num_frames, p.imu_per_frame, 6),
        torch.ones(1),
    )
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        model(*x)
    return float(fc.get_total_flops()) / 2


def gemm_peak(threads: int, seconds: float = 1.5) -> float:
    """Best float32 MAC/s of a 512×512 matrix product with `threads` BLAS threads."""
    code = (
        "import numpy as np, time\n"
        "a = np.random.rand(512, 512).astype(np.float32); b = a.copy(); best = 0.0\n"
        f"end = time.perf_counter() + {seconds}\n"
        "while time.perf_counter() < end:\n"
        "    t = time.perf_counter(); a @ b; best = max(best, 512**3 / (time.perf_counter() - t))\n"
        "print(best)\n"
    )
    env = {**os.environ, **{k: str(threads) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}}
    return float(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                text=True, check=True).stdout)  # fmt: skip


def worker(path: str, threads: int, repeats: int) -> dict[str, Any]:
    """Runs in its own process: load one model file and time it."""
    from liveness.backends import open_backend

    backend, cfg, _ = open_backend(Path(path), threads)
    p = cfg.preprocess
    rng = np.random.default_rng(0)

    def batch(b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        video = rng.integers(0, 256, (b, p.num_frames, p.image_size, p.image_size, 3), np.uint8)
        imu = rng.standard_normal((b, p.num_frames, p.imu_per_frame, 6)).astype(np.float32)
        return video, imu, np.ones(b, bool)

    one, eight = batch(1), batch(8)
    for _ in range(3):
        backend(*one)
    lat = []
    for _ in range(repeats):
        t = time.perf_counter()
        backend(*one)
        lat.append((time.perf_counter() - t) * 1000)
    n8 = max(3, repeats // 8)
    t = time.perf_counter()
    for _ in range(n8):
        backend(*eight)
    thr = 8 * n8 / (time.perf_counter() - t)
    # VmHWM: this process's own peak (ru_maxrss would carry the parent's peak across exec).
    status = Path("/proc/self/status").read_text().splitlines()
    rss = next(int(x.split()[1]) for x in status if x.startswith("VmHWM:")) / 1024
    q = statistics.quantiles(lat, n=10)
    return {"p50": statistics.median(lat), "p90": q[8], "thr8": thr, "rss_mib": rss}


def prepare(tmp: Path) -> list[tuple[str, str, Path, LivenessConfig]]:
    """(model, runtime/precision, file, config) for every variant measured."""
    import torch

    from liveness.checkpoint import model_from_checkpoint, save_checkpoint
    from liveness.export import export_model
    from liveness.model import LivenessNet
    from liveness.predict import BUNDLED_CHECKPOINT, MODELS

    _, default_cfg = model_from_checkpoint(BUNDLED_CHECKPOINT)
    export_model(BUNDLED_CHECKPOINT, tmp / "default.onnx", "onnx")
    torch.manual_seed(0)
    seed_pt = save_checkpoint(
        tmp / "seed.pt", {"model": LivenessNet(SEED).state_dict(), "config": SEED.to_dict()}
    )
    export_model(seed_pt, tmp / "seed.onnx", "onnx")
    export_model(seed_pt, tmp / "seed.tflite", "tflite")
    d, s = "default 12×96² ×0.5", "seed 10×224² ×1.0"
    return [
        (d, "torch fp32", BUNDLED_CHECKPOINT, default_cfg),
        (d, "onnxruntime fp32", tmp / "default.onnx", default_cfg),
        (d, "tflite fp32", MODELS / "default.tflite", default_cfg),
        (d, "tflite int8", MODELS / "default_int8.tflite", default_cfg),
        (s, "torch fp32", seed_pt, SEED),
        (s, "onnxruntime fp32", tmp / "seed.onnx", SEED),
        (s, "tflite fp32", tmp / "seed.tflite", SEED),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=60)
    ap.add_argument("--out", default=None, help="also write the markdown table here")
    ap.add_argument(
        "--worker", nargs=3, metavar=("FILE", "THREADS", "REPEATS"), help=argparse.SUPPRESS
    )
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], int(args.worker[1]), int(args.worker[2]))))
        return
    from tqdm import tqdm

    with tempfile.TemporaryDirectory() as t:
        variants = prepare(Path(t))
        peaks = {n: gemm_peak(n) for n in (1, 2)}
        mac = {m: macs(c) for m, _, _, c in variants}
        rows = []
        jobs = [(v, n) for v in variants for n in (1, 2)]
        for (model, rt, f, _), n in tqdm(jobs, desc="bench", unit="run"):
            out = subprocess.run(
                [sys.executable, __file__, "--worker", str(f), str(n), str(args.repeats)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            r = json.loads(out.stdout.strip().splitlines()[-1])
            floor_ms = mac[model] / peaks[n] * 1000
            rows.append({"model": model, "runtime": rt, "threads": n, "bytes": f.stat().st_size,
                         "mmacs": mac[model] / 1e6, "floor_ms": floor_ms, **r})  # fmt: skip
    lines = [
        f"{platform.machine()} {platform.processor() or ''} ({os.cpu_count()} cores), "
        f"{time.strftime('%Y-%m-%d')}; float32 GEMM peak: "
        + ", ".join(f"{n} thread(s) {p / 1e9:.1f} GMAC/s" for n, p in peaks.items()),
        "",
        "| model | runtime | threads | file bytes | MMACs/clip | p50 ms (b=1) | p90 ms (b=1) "
        "| clips/s (b=8) | peak RSS MiB | compute floor ms | p50 ÷ floor |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['runtime']} | {r['threads']} | {r['bytes']:,} | {r['mmacs']:.0f} "
            f"| {r['p50']:.2f} | {r['p90']:.2f} | {r['thr8']:.1f} | {r['rss_mib']:.0f} "
            f"| {r['floor_ms']:.2f} | {r['p50'] / r['floor_ms']:.1f}× |"
        )
    lines += ["", "Speed-up of the default model over the seed configuration (p50, b=1):", ""]
    for rt in ("torch fp32", "onnxruntime fp32", "tflite fp32"):
        for n in (1, 2):
            dv = [r for r in rows if r["runtime"] == rt and r["threads"] == n]
            if len(dv) == 2:
                lines.append(f"- {rt}, {n} thread(s): {dv[1]['p50'] / dv[0]['p50']:.1f}×")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
