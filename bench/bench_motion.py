"""Motion agreement speed: one capture of 30 frames at 240×320 (portrait), one core, p50/p90.

    python bench/bench_motion.py [--repeats 30]

Prints a table: tracking (OpenCV LK + per-interval fits), comparison (offset search), total.
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from liveness.config import MotionConfig, SynthConfig
from liveness.motion import compare, video_motion
from liveness.synth.atlas import sample_atlas
from liveness.synth.clipgen import render_clip
from liveness.synth.spec import ClipSpec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    cfg = SynthConfig(width=240, height=320, fps=(14.5, 15.0), duration_s=(2.0, 2.0))
    rng = np.random.default_rng(0)
    r = render_clip(ClipSpec(0, 0, "none", "normal", True, "left"), sample_atlas(rng), cfg, 0)
    frames, t = r.frames[:30], r.frame_t_ms[:30]
    mc = MotionConfig()
    track, comp = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        vm = video_motion(frames, t, mc)
        t1 = time.perf_counter()
        compare(vm, r.imu, mc)
        t2 = time.perf_counter()
        track.append(1000 * (t1 - t0))
        comp.append(1000 * (t2 - t1))
    total = np.add(track, comp)
    print(f"{len(frames)} frames {frames.shape[2]}x{frames.shape[1]}, cv2 threads 1, "
          f"{args.repeats} repeats")  # fmt: skip
    print("| step | p50 ms | p90 ms |\n|---|---|---|")
    for name, v in (("track + fit", track), ("compare", comp), ("total", total)):
        print(f"| {name} | {np.percentile(v, 50):.1f} | {np.percentile(v, 90):.1f} |")


if __name__ == "__main__":
    main()
