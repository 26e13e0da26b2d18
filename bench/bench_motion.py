"""Motion agreement speed: one capture of 30 frames at 240×320 (portrait), one core, p50/p90.

    python bench/bench_motion.py [--repeats 30]

Prints a table: tracking (OpenCV LK + per-interval fits), comparison (offset search), total,
as wall time and as this process's CPU time (the latter holds on a shared, loaded machine); the
comparison again with every offset scored (wide_step_ms = step_ms: the search before it went
coarse to fine beyond the genuine range), interleaved in the same run for a ratio; and
the face-flatness cue (liveness.motion.relief), which a model calibrated with it adds to every
check, with or without sensors: on the guide oval, and on the face check's box tracked in the
whole frame (relief_side 0), in a crop around it (relief_side 160), and in the crop on the face
and its surroundings (relief_surround 2); and the cue read off the motion check's own tracks
over the whole frame (relief_source "motion", liveness.motion.motion_relief: no tracking of its
own); and the comparison with the moving-scene check on (MotionConfig.scene, the bundled
calibration's: liveness.motion.rigid), interleaved with the plain one for a ratio; and the
tracking with each search started where the corner was (lk_seed off, models calibrated before
session 21) against the seeded one ("track + fit").
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from liveness.config import MotionConfig, SynthConfig
from liveness.face import default_detector
from liveness.motion import compare, motion_relief, relief, video_motion
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
    fine = dataclasses.replace(mc, wide_step_ms=mc.step_ms)
    scene = dataclasses.replace(mc, scene=True)
    at_rest = dataclasses.replace(mc, lk_seed=False)
    whole, crop = (dataclasses.replace(mc, relief_side=s) for s in (0, 160))
    around = dataclasses.replace(crop, relief_surround=2.0)
    faces = default_detector().detect(frames[0])
    box = max(faces, key=lambda f: f.score).box if faces else None
    rows: dict[str, list[list[float]]] = {}  # step -> [wall ms per repeat, CPU ms per repeat]

    def timed(name: str, step: Callable[..., Any], *args: Any) -> Any:
        """step(*args), its wall and CPU time added to its row; returns what it returned."""
        w, c = time.perf_counter(), time.process_time()
        out = step(*args)
        wall, cpu = rows.setdefault(name, [[], []])
        wall.append(1000 * (time.perf_counter() - w))
        cpu.append(1000 * (time.process_time() - c))
        return out

    for _ in range(args.repeats):  # every step once per repeat, in this order: interleaved
        vm = timed("track + fit", video_motion, frames, t, mc)
        timed("compare", compare, vm, r.imu, mc)
        timed("relief", relief, frames, t, mc)
        timed("compare, every offset scored", compare, vm, r.imu, fine)
        timed("relief, face box, whole frame", relief, frames, t, whole, box)
        timed("relief, face box, crop", relief, frames, t, crop, box)
        timed("relief, face box and surroundings, crop", relief, frames, t, around, box)
        timed("relief on the motion check's tracks", motion_relief, vm, mc)
        timed("compare with the moving-scene check", compare, vm, r.imu, scene)
        timed("track + fit, searched from rest (lk_seed off)", video_motion, frames, t, at_rest)
    track, comp = rows["track + fit"], rows["compare"]
    rows["total"] = [[a + b for a, b in zip(track[j], comp[j], strict=True)] for j in (0, 1)]
    rel = rows["relief"]
    rows["total with relief"] = [
        [a + b for a, b in zip(rows["total"][j], rel[j], strict=True)] for j in (0, 1)
    ]
    print(f"{len(frames)} frames {frames.shape[2]}x{frames.shape[1]}, cv2 threads 1, "
          f"{args.repeats} repeats, face box {box}")  # fmt: skip
    print("| step | wall p50 ms | wall p90 ms | CPU p50 ms |\n|---|---|---|---|")
    for name, (wall, cpu) in rows.items():
        p50, p90, c50 = np.percentile(wall, 50), np.percentile(wall, 90), np.percentile(cpu, 50)
        print(f"| {name} | {p50:.1f} | {p90:.1f} | {c50:.1f} |")


if __name__ == "__main__":
    main()
