"""The network alone, threshold-free: AUC live vs all attacks and per species, per checkpoint.

    python bench/network_auc.py --models runs/zoom/s0/best.pt runs/zoom/s1/best.pt \
        --sets data/sh81:all data/tr3k_v1:test [--crop-scales 1.0,0.8] [--wide 74]

Each model scores every clip with its own preprocessing (its crop, frames and IMU layout) and
no face check, motion agreement or fusion: what training changed in the network, before any
operating rule (bench/compare_rules.py gives those). --crop-scales scores again with the
model's crop replaced (no retraining); --wide adds the median score of the genuine clips whose
meta.json field of view is at least that. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
from tqdm import tqdm

from liveness import metrics
from liveness.clip import read_clip
from liveness.manifest import read_manifest
from liveness.predict import load_predictor
from liveness.preprocess import preprocess_clip

SPECIES = ("injection", "print", "replay")


def auc_against(scores: np.ndarray, live: np.ndarray, spoof: np.ndarray) -> float:
    """AUC of the live clips against the clips marked in `spoof` (N,) bool."""
    keep = live | spoof
    return metrics.auc(scores[keep], live[keep])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("--sets", nargs="+", required=True, help="DIR:SPLIT (train|val|test|all)")
    ap.add_argument("--crop-scales", default="", help="comma list: crops to score with instead")
    ap.add_argument("--wide", type=float, default=0.0, help="also: live median at hfov >= this")
    args = ap.parse_args()
    runs = []  # (label, predictor, preprocessing)
    for m in args.models:
        p = load_predictor(m, check_face=False)
        crops = [float(c) for c in args.crop_scales.split(",") if c]
        for c in crops or [p.config.preprocess.crop_scale]:
            pp = dataclasses.replace(p.config.preprocess, crop_scale=c)
            runs.append((f"{m} (crop {c:g})" if crops else m, p, pp))
    wide = f" | live median, hfov >= {args.wide:g}" if args.wide else ""
    print("| set | model | all attacks | " + " | ".join(SPECIES) + f" | live median{wide} |")
    print("|---|---|---|" + "---|" * len(SPECIES) + "---|" + ("---|" if wide else ""))
    for spec in args.sets:
        root, _, split = spec.partition(":")
        rows = [r for r in read_manifest(Path(root)) if split in ("all", r.split)]
        scores = np.zeros((len(runs), len(rows)))
        hfov = np.zeros(len(rows))
        for j, r in enumerate(tqdm(rows, desc=spec, unit="clip", leave=False)):
            clip = read_clip(Path(root) / r.clip)
            hfov[j] = float(clip.meta.get("hfov_deg", 0.0))
            for i, (_, p, pp) in enumerate(runs):
                it = preprocess_clip(clip, pp)
                present = np.array([it["imu_present"]])
                scores[i, j] = p.predict_arrays(it["video"][None], it["imu"][None], present)[0]
        live = np.array([r.is_live for r in rows])
        attack = np.array([r.attack for r in rows])
        for (label, _, _), s in zip(runs, scores, strict=True):
            per = " | ".join(f"{auc_against(s, live, attack == sp):.3f}" for sp in SPECIES)
            every = auc_against(s, live, ~live)
            row = f"| {spec} | {label} | {every:.3f} | {per} | {np.median(s[live]):.3f}"
            if wide:
                sel = live & (hfov >= args.wide)
                row += f" | {np.median(s[sel]):.3f} (n={sel.sum()})" if sel.any() else " | –"
            print(row + " |")


if __name__ == "__main__":
    main()
