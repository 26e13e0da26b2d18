"""The network alone, threshold-free: AUC live vs all attacks and per species, per checkpoint.

    python bench/network_auc.py --models runs/zoom/s0/best.pt runs/zoom/s1/best.pt \
        --sets data/sh81:all data/tr3k_v1:test

Each model scores every clip with its own preprocessing (its crop, frames and IMU layout) and
no face check, motion agreement or fusion: what training changed in the network, before any
operating rule (bench/compare_rules.py gives those). Prints a markdown table.
"""

from __future__ import annotations

import argparse
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
    ap.add_argument(
        "--sets", nargs="+", required=True, help="DIR:SPLIT (SPLIT: train|val|test|all)"
    )
    args = ap.parse_args()
    preds = [load_predictor(m, check_face=False) for m in args.models]
    print("| set | model | all attacks | " + " | ".join(SPECIES) + " | live median |")
    print("|---|---|---|" + "---|" * len(SPECIES) + "---|")
    for spec in args.sets:
        root, _, split = spec.partition(":")
        rows = [r for r in read_manifest(Path(root)) if split in ("all", r.split)]
        scores = np.zeros((len(preds), len(rows)))
        for j, r in enumerate(tqdm(rows, desc=spec, unit="clip", leave=False)):
            clip = read_clip(Path(root) / r.clip)
            for i, p in enumerate(preds):
                it = preprocess_clip(clip, p.config.preprocess)
                present = np.array([it["imu_present"]])
                scores[i, j] = p.predict_arrays(it["video"][None], it["imu"][None], present)[0]
        live = np.array([r.is_live for r in rows])
        attack = np.array([r.attack for r in rows])
        for model, s in zip(args.models, scores, strict=True):
            per = " | ".join(f"{auc_against(s, live, attack == sp):.3f}" for sp in SPECIES)
            every = auc_against(s, live, ~live)
            print(f"| {spec} | {model} | {every:.3f} | {per} | {np.median(s[live]):.3f} |")


if __name__ == "__main__":
    main()
