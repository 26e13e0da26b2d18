"""Benchmark model variants (clip length × input size): MACs, latency per clip, training speed.

Usage: python bench/bench_model.py [--repeats 30]
One process, variants measured back to back, so compare them as ratios (the machine is
shared and noisy). Inference: batch 1, one thread (the serving setting). Training: batch 16,
forward + backward + AdamW step, two threads.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from liveness.config import LivenessConfig, ModelConfig, PreprocessConfig
from liveness.model import LivenessNet

VARIANTS = [(8, 64), (8, 96), (12, 80), (12, 96), (16, 96), (16, 112)]


def inputs(cfg: LivenessConfig, b: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    p = cfg.preprocess
    return (
        torch.rand(b, p.num_frames, 3, p.image_size, p.image_size),
        torch.randn(b, p.num_frames, p.imu_per_frame, 6),
        torch.ones(b),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args()
    print(f"{platform.machine()}, torch {torch.__version__}, {time.strftime('%Y-%m-%d')}\n")
    print(
        "| frames × size | params | MMACs/clip | latency p50 ms (b=1, 1 thread) "
        "| train clips/s (b=16, 2 threads) |"
    )
    print("|---|---|---|---|---|")
    for t, s in VARIANTS:
        cfg = LivenessConfig(PreprocessConfig(num_frames=t, image_size=s), ModelConfig())
        torch.manual_seed(0)
        model = LivenessNet(cfg).eval()
        x = inputs(cfg, 1)
        with FlopCounterMode(display=False) as fc, torch.no_grad():
            model(*x)
        macs = fc.get_total_flops() / 2 / 1e6
        torch.set_num_threads(1)
        times = []
        with torch.no_grad():
            for i in range(args.repeats + 3):
                t0 = time.perf_counter()
                model(*x)
                if i >= 3:
                    times.append((time.perf_counter() - t0) * 1000)
        torch.set_num_threads(2)
        model.train()
        opt = torch.optim.AdamW(model.parameters())
        xb = inputs(cfg, 16)
        steps = []
        for i in range(5):
            t0 = time.perf_counter()
            loss = model(*xb).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            if i >= 1:
                steps.append(time.perf_counter() - t0)
        n_params = sum(p.numel() for p in model.parameters())
        print(
            f"| {t} × {s}² | {n_params:,} | {macs:.0f} | {statistics.median(times):.1f} | "
            f"{16 / statistics.median(steps):.1f} |"
        )


if __name__ == "__main__":
    main()
