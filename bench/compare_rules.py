"""Operating rules compared over training seeds: each model calibrated on one set by each rule,
reported on held-out sets, then mean ± half-range over the models (one seed decides nothing).

    python bench/compare_rules.py --models runs/a_s0/slim.pt runs/a_s1/slim.pt \\
        --calib data/tc79:all --sets test=data/tr3k:test shifted=data/sh81:all \\
        [--bpcer 0.10] [--gate-bpcer 0.01,0.02] [--out runs/compare_rules.json]

A rule is the motion gate refusing every disagreeing capture ("gate all") or, per
--gate-bpcer value, the calibrated gate level (FusionConfig.gate_below); each with the fusion
fitted and the threshold set for BPCER <= --bpcer on the calibration set, as `liveness
calibrate` does. Every clip is read, face-checked and motion-checked once; each model scores it.
Nothing is written into the model files. Prints worst-species APCER, BPCER (all, and how much
of it the gate refused) and AUC per set, model and rule.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from liveness import metrics
from liveness.calibrate import decided, fit_fusion, pick_threshold
from liveness.clip import read_clip
from liveness.gate_levels import gate_level
from liveness.manifest import read_manifest
from liveness.predict import load_predictor
from liveness.preprocess import preprocess_clip


def collect_many(predictors: list[Any], spec: str) -> list[dict[str, Any]]:
    """`calibrate.collect` for several models at once: per model, the same keys."""
    root, _, split = spec.partition(":")
    rows = [r for r in read_manifest(Path(root) / "manifest.csv") if split in ("all", r.split)]
    first = predictors[0]
    base: dict[str, list[Any]] = {k: [] for k in ("clip", "motion", "face_ok", "has_imu")}
    nets: list[list[float]] = [[] for _ in predictors]
    for r in tqdm(rows, desc=f"score {spec}", unit="clip"):
        clip = read_clip(Path(root) / r.clip)
        fc = first.check_face(clip)
        base["clip"].append(r.clip)
        base["motion"].append(first.motion(clip) if clip.imu is not None else None)
        base["face_ok"].append(fc is None or fc.ok)
        base["has_imu"].append(clip.imu is not None)
        for k, p in enumerate(predictors):
            item = preprocess_clip(clip, p.config.preprocess)
            nets[k].append(p.predict_inputs([item])[0]["model_score"])
    labels = {
        "is_live": np.array([r.attack == "none" for r in rows]),
        "attack": np.array([r.attack for r in rows]),
    }
    return [{**base, "model": net, **labels} for net in nets]


def measure(scored: dict[str, Any], cfg: Any) -> dict[str, float]:
    s = decided(scored, cfg)
    lv, att = scored["is_live"], scored["attack"]
    refused = lv & (s <= 0.0)  # by policy (the gate, vetoes, no face)
    return {
        "worst_apcer": metrics.apcer_max(s, lv, att, cfg.threshold),
        "bpcer": metrics.bpcer(s, lv, cfg.threshold),
        "bpcer_policy": float(refused.sum() / max(lv.sum(), 1)),
        "auc": metrics.auc(s, lv),
        **{
            f"apcer_{k}": v for k, v in metrics.apcer_per_species(s, lv, att, cfg.threshold).items()
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("--calib", required=True, help="DIR:SPLIT the rules are calibrated on")
    ap.add_argument("--sets", nargs="+", required=True, help="NAME=DIR:SPLIT reported")
    ap.add_argument("--bpcer", type=float, default=0.10)
    ap.add_argument("--gate-bpcer", default="0.01", help="comma list of gate shares")
    ap.add_argument("--out", default=None, help="also write the results as JSON here")
    args = ap.parse_args()
    predictors = [load_predictor(m) for m in args.models]
    calib = collect_many(predictors, args.calib)
    sets = {n: collect_many(predictors, s) for n, s in (x.split("=", 1) for x in args.sets)}
    rules: dict[str, float | None] = {"gate all": None}
    rules.update({f"gate {g} of genuine": float(g) for g in args.gate_bpcer.split(",") if g})
    results: dict[str, dict[str, list[dict[str, float]]]] = {}
    print("| rule | model | set | worst APCER | BPCER (by policy) | AUC | threshold, gate level |")
    print("|---|---|---|---|---|---|---|")
    for rule, share in rules.items():
        for k, (p, cal) in enumerate(zip(predictors, calib, strict=True)):
            level = gate_level(cal, share) if share is not None else None
            fusion = fit_fusion(cal, motion_gate=True, gate_below=level)
            cfg = dataclasses.replace(p.config, fusion=fusion)
            t, _ = pick_threshold(decided(cal, cfg), cal["is_live"], cal["attack"], "bpcer",
                                  args.bpcer)  # fmt: skip
            cfg = dataclasses.replace(cfg, threshold=t)
            for name, per_model in [("calib", calib), *sets.items()]:
                m = measure(per_model[k], cfg)
                results.setdefault(rule, {}).setdefault(name, []).append(m)
                lvl = "all" if level is None else f"{level:.3f}"
                model = f"{Path(args.models[k]).parent.name}/{Path(args.models[k]).name}"
                print(f"| {rule} | {model} | {name} | {m['worst_apcer']:.3f} | {m['bpcer']:.3f} "
                      f"({m['bpcer_policy']:.3f}) | {m['auc']:.4f} | {t:.4f}, {lvl} |",
                      flush=True)  # fmt: skip
    print("\nMean ± half-range over the models:\n")
    print("| rule | set | worst APCER | BPCER | by policy | AUC | APCER per species |")
    print("|---|---|---|---|---|---|---|")
    for rule, by_set in results.items():
        for name, ms in by_set.items():

            def mr(key: str, ms: list[dict[str, float]] = ms) -> str:
                v = np.array([m[key] for m in ms if key in m])
                return f"{v.mean():.3f} ± {(v.max() - v.min()) / 2:.3f}"

            species = sorted(k for k in ms[0] if k.startswith("apcer_"))
            per = ", ".join(f"{k[6:]} {mr(k)}" for k in species)
            print(f"| {rule} | {name} | {mr('worst_apcer')} | {mr('bpcer')} | {mr('bpcer_policy')} "
                  f"| {mr('auc')} | {per} |")  # fmt: skip
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
