"""The motion check alone under one MotionConfig field's values: genuine captures it refuses and
injection AUC per variant, every clip read once.

    python bench/motion_sweep.py data/tc79 --split all --field lk_min_eig --values 1e-4,1e-3,1e-2

Genuine and injected clips with sensors only (the check's job); "refused" = any status other
than `agrees`; the AUC ranks the agreement score (0 where the check could not measure it).
"own IMU +150 / +300 ms": each genuine capture's own IMU replayed that late (the cheapest
injection there is, and one the generator's "shifted" variant under-represents), agreeing.
A development tool: sweep on a calibration or validation set, never on test or shifted.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from liveness.clip import read_clip
from liveness.config import MotionConfig
from liveness.manifest import read_manifest
from liveness.metrics import auc
from liveness.motion import agreement, compare

VARIANTS = ("rest", "same-direction", "shifted", "unrelated")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("--split", default="val")
    ap.add_argument("--field", required=True, help="a MotionConfig field")
    ap.add_argument("--values", required=True, help="comma list, parsed as the field's type")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    base = MotionConfig()
    kind = type(getattr(base, args.field))
    values = [kind(v) for v in args.values.split(",")]
    root = Path(args.data)
    rows = [
        r
        for r in read_manifest(root / "manifest.csv")
        if args.split in ("all", r.split) and r.has_imu and r.attack in ("none", "injection")
    ]
    clips = [(r, read_clip(root / r.clip)) for r in tqdm(rows, desc="read", unit="clip")]
    live = np.array([r.attack == "none" for r in rows])
    print(f"{args.data} {args.split}: {live.sum()} genuine, {(~live).sum()} injections with IMU\n")
    print(f"| {args.field} | genuine refused | own IMU +150 / +300 ms agreeing | injection AUC | "
          + " | ".join(VARIANTS) + " |\n|---|---|---|---|" + "---|" * len(VARIANTS))  # fmt: skip
    for value in values:
        cfg = dataclasses.replace(base, **{args.field: value})
        got, replayed = [], {150.0: 0, 300.0: 0}
        for r, c in tqdm(clips, desc=f"{args.field}={value}", unit="clip", leave=False):
            a, vm = agreement(c.frames, c.frame_t_ms, c.imu, cfg)
            got.append(a)
            for late in replayed if r.attack == "none" else ():
                imu = c.imu.copy()
                imu[:, 0] += late
                replayed[late] += compare(vm, imu, cfg).status == "agrees"
        score = np.array([a.score if np.isfinite(a.score) else 0.0 for a in got])
        refused = sum(a.status != "agrees" for a, lv in zip(got, live, strict=True) if lv)
        cells = []
        for v in VARIANTS:
            sel = np.array([r.variant == v and r.attack == "injection" for r in rows])
            both = live | sel
            cells.append(f"{auc(score[both], live[both]):.3f}" if sel.any() else "–")
        print(f"| {value:g} | {refused} ({refused / live.sum():.1%}) | {replayed[150.0]} / "
              f"{replayed[300.0]} | {auc(score, live):.3f} | "
              + " | ".join(cells) + " |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
