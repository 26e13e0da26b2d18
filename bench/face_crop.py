"""Does a cut about the face (PreprocessConfig.face_crop) hold where the central square does?

    python bench/face_crop.py --model src/liveness/models/default.pt --model runs/prev/wb.pt \\
        --cal data/tc79:all --report data/tr3k:test --report data/sh85:all \\
        --report /tmp/indep/phone14,/tmp/indep/phone15:all --face-crop auto \\
        [--variants] [--cache runs/s15/crop]

Per model and per setting (the central square, face_crop 0, then the cut about the face at F):
every clip of the calibration and report sets is scored through the decision path's inputs
(liveness.calibrate.collect: the face check's box places the cut), the fusion and threshold are
fitted on the calibration set as `liveness calibrate --bpcer 0.10` does (motion gate on), and
each report set gives AUC, BPCER, APCER per species and ACER at that threshold; then the means
over the models. `--face-crop auto`: F is the median over the calibration set's genuine
captures of the face check's box width over min(W, H) (docs/MODEL.md, "A cut about the face").
"""

from __future__ import annotations

import argparse
import dataclasses
import pickle
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from liveness.calibrate import collect, decided, fit_fusion, pick_threshold
from liveness.clip import read_clip
from liveness.manifest import read_manifest
from liveness.predict import Predictor, load_predictor
from relief_fusion import SPECIES, accepted_per_variant, measures


def typical_face(predictor: Predictor, spec: str) -> float:
    """Median of (face box width / min(W, H)) over the genuine captures of DATA:SPLIT."""
    data, split = spec.rsplit(":", 1)
    fracs = []
    rows = [r for r in read_manifest(Path(data) / "manifest.csv") if split in ("all", r.split)]
    for r in tqdm([r for r in rows if r.attack == "none"], desc="face sizes", unit="clip"):
        clip = read_clip(Path(data) / r.clip)
        fc = predictor.check_face(clip)
        box = fc.box() if fc is not None else None
        if box is not None:
            fracs.append((box[2] - box[0]) / min(clip.frames.shape[1:3]))
    return float(np.median(fracs))


def scored(model: str, spec: str, face_crop: float, cache: Path | None) -> dict[str, Any]:
    """collect() of DATA:SPLIT (DATA may pool several, comma-separated) with the cut at
    `face_crop`; read from / written to `cache`."""
    data, split = spec.rsplit(":", 1)
    tag = "+".join(Path(d).name for d in data.split(","))
    path = cache / f"{Path(model).stem}_{tag}_{split}_fc{face_crop:g}.pkl" if cache else None
    if path is not None and path.is_file():
        with open(path, "rb") as f:
            got: dict[str, Any] = pickle.load(f)
            return got
    predictor = load_predictor(model)
    c = predictor.config
    predictor.config = dataclasses.replace(
        c, preprocess=dataclasses.replace(c.preprocess, face_crop=face_crop)
    )
    sc = collect(predictor, data, split, relief=False)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            pickle.dump(sc, f)
    return sc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--cal", required=True, help="DATA:SPLIT the fusion and threshold are fit on")
    ap.add_argument("--report", action="append", required=True, help="DATA[,DATA2]:SPLIT")
    ap.add_argument("--face-crop", default="auto", help="F, or auto (from the --cal set)")
    ap.add_argument("--bpcer", type=float, default=0.10, help="the threshold rule's target")
    ap.add_argument("--variants", action="store_true", help="also accepted per attack variant")
    ap.add_argument("--cache", default=None)
    args = ap.parse_args()
    cache = Path(args.cache) if args.cache else None
    if args.face_crop == "auto":
        f = typical_face(load_predictor(args.model[0]), args.cal)
    else:
        f = float(args.face_crop)
    print(f"face_crop F = {f:.4f}\n")
    cols = ["auc", "bpcer", *(f"apcer_{sp}" for sp in SPECIES), "acer"]
    head = "| AUC | BPCER | APCER injection | APCER print | APCER replay | ACER |"
    print(f"| model | cut | set {head}")
    print("|---|---|---|---|---|---|---|---|---|")
    table: dict[tuple[str, str], list[dict[str, float]]] = {}
    per_variant: list[str] = []
    for model in args.model:
        cfg = load_predictor(model, check_face=False).config
        for fc in (0.0, f):
            label = "central" if fc == 0 else f"face {fc:.3f}"
            cal = scored(model, args.cal, fc, cache)
            fusion = fit_fusion(cal, motion_gate=True, relief=False)
            c = dataclasses.replace(
                cfg, fusion=fusion, preprocess=dataclasses.replace(cfg.preprocess, face_crop=fc)
            )
            t, _ = pick_threshold(decided(cal, c), cal["is_live"], cal["attack"], "bpcer",
                                  args.bpcer)  # fmt: skip
            for spec in args.report:
                sc = scored(model, spec, fc, cache)
                s = decided(sc, c)
                m = measures(s, sc, t)
                table.setdefault((label, spec), []).append(m)
                cells = " | ".join(f"{m[k]:.3f}" for k in cols)
                print(f"| {Path(model).stem} | {label} | {spec} | {cells} |")
                if args.variants:
                    got = accepted_per_variant(s, sc, t)
                    per_variant.append(f"- {Path(model).stem}, {label}, {spec}: " + ", ".join(
                        f"{k} {v}" for k, v in got.items()))  # fmt: skip
            print(f"| {Path(model).stem} | {label} | threshold {t:.4f} | | | | | | |")
    if per_variant:
        print("\nAccepted per variant:\n")
        print("\n".join(per_variant))
    print("\nMeans over the models (spread: half the range):\n")
    print(f"| cut | set {head}")
    print("|---|---|---|---|---|---|---|---|")
    for (label, spec), ms in sorted(table.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        spread = []
        for k in cols:
            v = np.array([m[k] for m in ms])
            spread.append(f"{v.mean():.3f} ± {(v.max() - v.min()) / 2:.3f}")
        print(f"| {label} | {spec} | {' | '.join(spread)} |")


if __name__ == "__main__":
    main()
