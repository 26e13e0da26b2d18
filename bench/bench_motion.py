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
    rows: dict[str, list[list[float]]] = {
        "track + fit": [[], []],
        "compare": [[], []],
        "relief": [[], []],
        "compare, every offset scored": [[], []],
        "relief, face box, whole frame": [[], []],
        "relief, face box, crop": [[], []],
        "relief, face box and surroundings, crop": [[], []],
        "relief on the motion check's tracks": [[], []],
        "compare with the moving-scene check": [[], []],
        "track + fit, searched from rest (lk_seed off)": [[], []],
    }
    for _ in range(args.repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        vm = video_motion(frames, t, mc)
        w1, c1 = time.perf_counter(), time.process_time()
        compare(vm, r.imu, mc)
        w2, c2 = time.perf_counter(), time.process_time()
        rows["track + fit"][0].append(1000 * (w1 - w0))
        rows["track + fit"][1].append(1000 * (c1 - c0))
        rows["compare"][0].append(1000 * (w2 - w1))
        rows["compare"][1].append(1000 * (c2 - c1))
        relief(frames, t, mc)
        w3, c3 = time.perf_counter(), time.process_time()
        rows["relief"][0].append(1000 * (w3 - w2))
        rows["relief"][1].append(1000 * (c3 - c2))
        compare(vm, r.imu, fine)
        w4, c4 = time.perf_counter(), time.process_time()
        rows["compare, every offset scored"][0].append(1000 * (w4 - w3))
        rows["compare, every offset scored"][1].append(1000 * (c4 - c3))
        relief(frames, t, whole, box)
        w5, c5 = time.perf_counter(), time.process_time()
        relief(frames, t, crop, box)
        w6, c6 = time.perf_counter(), time.process_time()
        rows["relief, face box, whole frame"][0].append(1000 * (w5 - w4))
        rows["relief, face box, whole frame"][1].append(1000 * (c5 - c4))
        rows["relief, face box, crop"][0].append(1000 * (w6 - w5))
        rows["relief, face box, crop"][1].append(1000 * (c6 - c5))
        relief(frames, t, around, box)
        w7, c7 = time.perf_counter(), time.process_time()
        rows["relief, face box and surroundings, crop"][0].append(1000 * (w7 - w6))
        rows["relief, face box and surroundings, crop"][1].append(1000 * (c7 - c6))
        motion_relief(vm, mc)
        w8, c8 = time.perf_counter(), time.process_time()
        rows["relief on the motion check's tracks"][0].append(1000 * (w8 - w7))
        rows["relief on the motion check's tracks"][1].append(1000 * (c8 - c7))
        compare(vm, r.imu, scene)
        w9, c9 = time.perf_counter(), time.process_time()
        rows["compare with the moving-scene check"][0].append(1000 * (w9 - w8))
        rows["compare with the moving-scene check"][1].append(1000 * (c9 - c8))
        video_motion(frames, t, at_rest)
        w10, c10 = time.perf_counter(), time.process_time()
        rows["track + fit, searched from rest (lk_seed off)"][0].append(1000 * (w10 - w9))
        rows["track + fit, searched from rest (lk_seed off)"][1].append(1000 * (c10 - c9))
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
