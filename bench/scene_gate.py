"""Does the moving-scene gate belong in the verdict? Each calibrated model, gate off and on.

    liveness calibrate --model M --data data/tc79 --split all --bpcer 0.10 --near-gate 0.05 \\
        --scene-gate 0.025          # for each model M (a copy), then:
    python bench/scene_gate.py --model M1 --model M2 \\
        --report /tmp/indep/phone25,/tmp/indep/phone26:all --report data/tc91:all \\
        --report data/sh92:all [--cache runs/scene] [--plot PNG]

The gate comes after the threshold (liveness.calibrate), so a model calibrated with it has the
same fusion and threshold as without it: every clip of each report set is scored once through
the decision path's inputs (liveness.calibrate.collect) and decided with the model's
FusionConfig.scene_gate and with it at 0. Per set and model: BPCER and APCER per species at the
model's threshold, the share accepted per attack variant, then the means over the models. With
--plot, Agreement.scene_misfit per species on each report set (captures with sensors where it was
measured) and the first model's gate. Nothing is written into any model file.
"""

from __future__ import annotations

import argparse
import dataclasses
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from liveness.calibrate import collect, decided
from liveness.predict import load_predictor

SPECIES = ("injection", "print", "replay")


def scored(model: str, spec: str, cache: Path | None) -> tuple[dict[str, Any], Any]:
    """collect() of DATA:SPLIT (DATA may pool datasets, comma-separated) and the model's config."""
    data, split = spec.rsplit(":", 1)
    predictor = load_predictor(model)
    if not predictor.config.motion.scene:  # the misfit is measured only with the scene check on
        c = predictor.config
        predictor.config = dataclasses.replace(c, motion=dataclasses.replace(c.motion, scene=True))
    tag = "+".join(Path(d).name for d in data.split(","))
    name = f"{Path(model).stem}_{tag}_{split}.pkl"
    if cache is not None and (cache / name).is_file():
        with open(cache / name, "rb") as f:
            return pickle.load(f), predictor.config
    got = collect(predictor, data, split)
    for a in got["motion"]:  # the tracks are large and not needed here
        if a is not None:
            a.video = None
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        with open(cache / name, "wb") as f:
            pickle.dump(got, f)
    return got, predictor.config


def rates(s: dict[str, Any], score: np.ndarray, t: float) -> dict[str, float]:
    """BPCER, APCER per species and the share accepted per attack variant at threshold t."""
    live, att, var = s["is_live"], s["attack"], s["variant"]
    acc = score >= t
    out = {"BPCER": float(np.mean(~acc[live])) if live.any() else float("nan")}
    for sp in SPECIES:
        if (att == sp).any():
            out[f"APCER {sp}"] = float(np.mean(acc[att == sp]))
    for a, v in sorted({(a, v) for a, v in zip(att, var, strict=True) if a != "none"}):
        m = (att == a) & (var == v)
        out[f"{a}/{v}"] = float(np.mean(acc[m]))
    return out


def plot(sets: dict[str, dict[str, Any]], path: str, gate: float) -> None:
    """Agreement.scene_misfit per species on each report set, and the gate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(sets), figsize=(4.2 * len(sets), 3.6), squeeze=False)
    for ax, (name, s) in zip(axes[0], sets.items(), strict=True):
        groups = ["none", *SPECIES]
        for j, sp in enumerate(groups):
            x = [a.scene_misfit for a, att in zip(s["motion"], s["attack"], strict=True)
                 if att == sp and a is not None and np.isfinite(a.scene_misfit)]  # fmt: skip
            jitter = np.random.default_rng(j).uniform(-0.25, 0.25, len(x))
            ax.scatter(j + jitter, x, s=8, alpha=0.6, label=f"{sp} ({len(x)})")
        ax.axhline(gate, color="k", lw=1, ls="--")
        # Logarithmic above 0.05, linear below: a misfit the tracker's noise floor took to 0
        # (MotionConfig.scene_noise_px) is drawn at 0, not left out.
        ax.set_yscale("symlog", linthresh=0.05)
        ax.set_ylim(bottom=0.0)
        ax.set_xticks(range(len(groups)), ["genuine", *SPECIES])
        ax.set_ylabel("scene misfit (share of the turn's motion)")
        ax.set_title(name, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", required=True, help="calibrated model files")
    ap.add_argument("--report", action="append", required=True, metavar="DATA:SPLIT")
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--plot", default=None, metavar="PNG")
    args = ap.parse_args()
    for spec in args.report:
        print(f"\n## {spec}\n")
        per: dict[str, list[dict[str, float]]] = {"off": [], "on": []}
        for model in args.model:
            s, cfg = scored(model, spec, args.cache)
            off = dataclasses.replace(cfg, fusion=dataclasses.replace(cfg.fusion, scene_gate=0.0))
            per["off"].append(rates(s, decided(s, off), cfg.threshold))
            per["on"].append(rates(s, decided(s, cfg), cfg.threshold))
            print(f"{model}: threshold {cfg.threshold:.4f}, scene gate {cfg.fusion.scene_gate:.3f}")
        keys = list(per["off"][0])
        print("\n| | " + " | ".join(keys) + " |\n" + "|---" * (len(keys) + 1) + "|")
        for label in ("off", "on"):
            for m, r in zip(args.model, per[label], strict=True):
                cells = " | ".join(f"{100 * r[k]:.1f}" for k in keys)
                print(f"| {Path(m).stem} gate {label} | {cells} |")
            mean = " | ".join(f"{100 * np.mean([r[k] for r in per[label]]):.1f}" for k in keys)
            print(f"| **mean, gate {label}** | {mean} |")
    if args.plot:
        sets = {spec: scored(args.model[0], spec, args.cache)[0] for spec in args.report}
        plot(sets, args.plot, load_predictor(args.model[0]).config.fusion.scene_gate)


if __name__ == "__main__":
    main()
