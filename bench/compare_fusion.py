"""How the motion agreement should enter the verdict, measured: network alone, network with the
physics vetoes, and the late fusion (logistic regression; the agreement entering linearly or as
a clipped logit), each with its threshold chosen on
the validation split by the same rule and reported on the other splits.

    python bench/compare_fusion.py --model src/liveness/models/default.tflite \\
        --data data/cal77 [--report test] [--data2 data/hr78 --report2 test]

Prints one table row per (variant, split): AUC, worst-species APCER, BPCER, per-species APCER.
Nothing is written into the model file.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

import numpy as np

from liveness import metrics
from liveness.calibrate import collect, decided, fit_fusion, pick_threshold
from liveness.config import FusionConfig
from liveness.predict import load_predictor


def _row(name: str, split: str, s: np.ndarray, sc: dict[str, Any], t: float) -> str:
    lv, att = sc["is_live"], sc["attack"]
    per = metrics.apcer_per_species(s, lv, att, t)
    sp = ", ".join(f"{k} {v:.3f}" for k, v in sorted(per.items()))
    worst, bpcer = metrics.apcer_max(s, lv, att, t), metrics.bpcer(s, lv, t)
    return f"| {name} | {split} | {metrics.auc(s, lv):.4f} | {worst:.3f} | {bpcer:.3f} | {sp} |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True, help="dataset whose val split calibrates")
    ap.add_argument("--report", default="test")
    ap.add_argument("--data2", default=None, help="another dataset reported with the same fit")
    ap.add_argument("--report2", default="test")
    args = ap.parse_args()
    pred = load_predictor(args.model)
    base = dataclasses.replace(pred.config, fusion=FusionConfig())
    val = collect(pred, args.data, "val")
    reports = [(f"{args.data}:{args.report}", collect(pred, args.data, args.report))]
    if args.data2:
        reports.append((f"{args.data2}:{args.report2}", collect(pred, args.data2, args.report2)))
    fused = dataclasses.replace(base, fusion=fit_fusion(val))
    linear = dataclasses.replace(base, fusion=fit_fusion(val, motion_form="linear"))
    variants = {
        "network alone": lambda sc: np.where(sc["face_ok"], sc["model"], 0.0),
        "network + vetoes": lambda sc: decided(sc, base),
        "late fusion, agreement − 0.5": lambda sc: decided(sc, linear),
        "late fusion, logit(agreement)": lambda sc: decided(sc, fused),
    }
    print("| variant | split | AUC | worst APCER | BPCER | APCER per species |")
    print("|---|---|---|---|---|---|")
    for name, score in variants.items():
        sv = np.asarray(score(val), float)
        t, _ = pick_threshold(sv, val["is_live"], val["attack"], "balanced")
        print(_row(name, "val (calibration)", sv, val, t))
        for split, sc in reports:
            print(_row(name, split, np.asarray(score(sc), float), sc, t))
    print(f"\nfusion fitted on {args.data} val: {fused.fusion.to_dict()}")


if __name__ == "__main__":
    main()
