"""The motion check alone under one MotionConfig field's values: genuine captures it refuses and
injection AUC per variant, every clip read once.

    python bench/motion_sweep.py data/tc79 --split all --field lk_min_eig --values 1e-4,1e-3,1e-2
    python bench/motion_sweep.py data/tc79 --split all --set lk_window=13 --field max_corners \
        --values 60,40

Genuine and injected clips with sensors only (the check's job); "refused" = any status other
than `agrees`; the AUC ranks the agreement score (0 where the check could not measure it).
"own IMU +150 / +300 ms": each genuine capture's own IMU replayed that late (the cheapest
injection there is, and one the generator's "shifted" variant under-represents): how many agree,
and the AUC of the genuine captures' scores against those replays' (the ranking fusion uses).
--clip-fov passes each clip's meta.json field of view, as `liveness predict` does (without it,
the 65° prior: what a clip without one gets). --stabilise MS smooths every capture's measured
video rotations with a Gaussian of MS ms before the comparison, the gyro untouched: what an
electronic stabiliser leaves in the image (injections are smoothed too: an attacker can do that).
A development tool: sweep on a calibration or validation set, never on test or shifted.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from liveness.calibrate import motion_settings
from liveness.clip import read_clip
from liveness.config import MotionConfig
from liveness.manifest import read_manifest
from liveness.metrics import auc
from liveness.motion import VideoMotion, agreement, compare, video_motion
from liveness.motion.series import smoother

VARIANTS = ("rest", "same-direction", "shifted", "unrelated")
# The MotionConfig fields the tracking reads (motion.video): sweeping any other field re-runs
# only the comparison on each clip's one tracking (the same results, a fraction of the time).
TRACKING = frozenset(("hfov_deg", "max_side", "max_corners", "redetect_share", "corner_quality",
                      "min_points", "lk_window", "lk_levels", "lk_min_eig", "irls_iters",
                      "robust_px", "lk_seed"))  # fmt: skip


def stabilised(vm: VideoMotion, sigma_ms: float) -> VideoMotion:
    """The video's per-interval rotations smoothed as a stabiliser would leave them."""
    smooth = smoother(0.5 * (vm.t0_ms + vm.t1_ms), sigma_ms, np.ones(len(vm.t0_ms), bool))
    return dataclasses.replace(vm, rot=smooth @ vm.rot, rot_face=smooth @ vm.rot_face)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("--split", default="val")
    ap.add_argument("--field", required=True, help="a MotionConfig field")
    ap.add_argument("--values", required=True, help="comma list, parsed as the field's type")
    ap.add_argument("--clip-fov", action="store_true", help="use each clip's meta hfov_deg")
    ap.add_argument("--stabilise", type=float, default=0.0, help="smooth the video's motion, ms")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="another MotionConfig field for every row (repeatable)")  # fmt: skip
    args = ap.parse_args()
    cv2.setNumThreads(1)
    base = MotionConfig()
    base = dataclasses.replace(base, **motion_settings(args.set))
    values = [motion_settings([f"{args.field}={v}"])[args.field] for v in args.values.split(",")]
    root = Path(args.data)
    rows = [
        r
        for r in read_manifest(root / "manifest.csv")
        if args.split in ("all", r.split) and r.has_imu and r.attack in ("none", "injection")
    ]
    clips = [(r, read_clip(root / r.clip)) for r in tqdm(rows, desc="read", unit="clip")]
    live = np.array([r.attack == "none" for r in rows])
    smoothed = f"; video smoothed {args.stabilise:g} ms" if args.stabilise > 0 else ""
    fov = "from meta.json" if args.clip_fov else "prior"
    fixed = f"; {', '.join(args.set)}" if args.set else ""
    print(f"{args.data} {args.split}: {live.sum()} genuine, {(~live).sum()} injections with IMU; "
          f"field of view {fov}{smoothed}{fixed}\n")  # fmt: skip
    print(f"| {args.field} | genuine refused | injections agreeing | own IMU +150 / +300 ms "
          "agreeing | own IMU +150 / +300 ms AUC | injection AUC | " + " | ".join(VARIANTS)
          + " |\n|---|---|---|---|---|---|" + "---|" * len(VARIANTS))  # fmt: skip
    tracked: dict[int, VideoMotion] = {}  # clip index -> its tracking under `base`
    for value in values:
        cfg = dataclasses.replace(base, **{args.field: value})
        got, replayed = [], {150.0: 0, 300.0: 0}
        replay_scores: dict[float, list[float]] = {150.0: [], 300.0: []}
        for i, (r, c) in enumerate(tqdm(clips, desc=f"{args.field}={value}", unit="clip",
                                        leave=False)):  # fmt: skip
            hfov = c.meta.get("hfov_deg") if args.clip_fov and isinstance(c.meta, dict) else None
            if args.field in TRACKING:
                a, vm = agreement(c.frames, c.frame_t_ms, c.imu, cfg, hfov)
            else:
                if i not in tracked:
                    tracked[i] = video_motion(c.frames, c.frame_t_ms, base, hfov)
                vm = tracked[i]
                a = compare(vm, c.imu, cfg)
            if args.stabilise > 0:
                vm = stabilised(vm, args.stabilise)
                a = compare(vm, c.imu, cfg)
            got.append(a)
            for late in replayed if r.attack == "none" else ():
                imu = c.imu.copy()
                imu[:, 0] += late
                late_a = compare(vm, imu, cfg)
                replayed[late] += late_a.status == "agrees"
                replay_scores[late].append(late_a.score if np.isfinite(late_a.score) else 0.0)
        score = np.array([a.score if np.isfinite(a.score) else 0.0 for a in got])
        refused = sum(a.status != "agrees" for a, lv in zip(got, live, strict=True) if lv)
        passed = sum(a.status == "agrees" for a, lv in zip(got, live, strict=True) if not lv)
        cells = []
        for v in VARIANTS:
            sel = np.array([r.variant == v and r.attack == "injection" for r in rows])
            both = live | sel
            cells.append(f"{auc(score[both], live[both]):.3f}" if sel.any() else "–")
        own = f"{replayed[150.0]} / {replayed[300.0]}"
        own_auc = " / ".join(
            f"{auc(np.r_[score[live], replay_scores[late]], np.r_[live[live], np.zeros(n)]):.3f}"
            for late in replayed
            if (n := len(replay_scores[late]))
        )
        shown = str(value) if isinstance(value, str | bool) else f"{value:g}"
        print(f"| {shown} | {refused} ({refused / live.sum():.1%}) | {passed} | {own} | "
              f"{own_auc} | {auc(score, live):.3f} | " + " | ".join(cells) + " |",
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
