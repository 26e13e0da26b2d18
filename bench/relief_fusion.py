"""Does the face-flatness cue belong in the verdict? Each model calibrated with and without it.

    python bench/relief_fusion.py --model src/liveness/models/default.pt \\
        --model runs/prev/aug_s0.pt --cal data/tc79:all \\
        --report data/tr3k:test --report data/sh81:all [--cache runs/relief]

Per model: every clip of the calibration set and the report sets is scored once through the
decision path's inputs (liveness.calibrate.collect, the cue measured for all of them); the fusion
and the threshold are then fitted on the calibration set exactly as `liveness calibrate --bpcer
0.10` does (motion gate on), once without the cue and once with it, and both are reported on
the report sets: AUC, BPCER and APCER per species at that threshold, then the means over the
models. Also the cue alone (its misfit as the score; unmeasured clips at the fusion's neutral
1 %) per species, and with --plot PNG its distribution per species on each report set
(measured clips only). Nothing is written into any model file. --cache
keeps what was collected (pickles) so a rerun only refits.

With --flat-gate Q the cue is not fused but gates (FusionConfig.flat_gate_pct, as `liveness
calibrate --flat-gate Q` sets it: the Q-quantile of the calibration set's genuine captures with
sensors): each model's fusion and threshold are fitted without the cue, then reported with the
gate off and on; --variants adds the share accepted per attack variant. --relief-region oval
measures the cue on the guide oval instead of the face check's box (docs/MOTION.md, "A flat
capture refused"), --relief-source motion on the motion check's own tracks over the whole frame
("The cue on the motion check's tracks"); with --plot the captures with sensors only, and the
gate drawn:

    python bench/relief_fusion.py --model src/liveness/models/default.pt --model runs/prev/wb.pt \
        --cal data/tc79:all --report data/tr3k:test --report data/sh85:all \
        --relief-region oval --flat-gate 0.01 --variants --cache runs/s15/oval

With --near-gate Q (implies --relief-source motion) the cue gates only together with the room's
depth, as `liveness calibrate --near-gate Q` sets it (FusionConfig.near_gate_per_m at
gate_levels.NEAR_PER_M, near_flat_pct the Q-quantile of the calibration set's genuine captures;
docs/MOTION.md, "The scene at arm's length"), reported with the gate off and on.
"""

from __future__ import annotations

import argparse
import dataclasses
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from liveness import metrics
from liveness.calibrate import (
    NEAR_PER_M,
    collect,
    decided,
    fit_fusion,
    flat_level,
    pick_threshold,
)
from liveness.config import RELIEF_REF_PCT, MotionConfig
from liveness.predict import load_predictor

SPECIES = ("injection", "print", "replay")


def scored_set(
    model: str,
    spec: str,
    cache: Path | None,
    side: int,
    surround: float,
    region: str = "box",
    source: str = "own",
) -> dict[str, Any]:
    """collect() of DATA:SPLIT for `model`, with the cue measured at relief_side `side`,
    relief_surround `surround`, relief_region `region` and relief_source `source`; read from /
    written to `cache`. DATA may name several datasets, comma-separated: their clips are pooled."""
    data, split = spec.rsplit(":", 1)
    tag = "+".join(Path(d).name for d in data.split(","))
    where = ("" if region == "box" else f"_{region}") + ("" if source == "own" else f"_{source}")
    name = f"{Path(model).stem}_{tag}_{split}_side{side}_sur{surround:g}{where}.pkl"
    if cache is not None and (cache / name).is_file():
        with open(cache / name, "rb") as f:
            got: dict[str, Any] = pickle.load(f)
            return got
    predictor = load_predictor(model)
    c = predictor.config
    predictor.config = dataclasses.replace(
        c,
        motion=dataclasses.replace(
            c.motion,
            relief_side=side,
            relief_surround=surround,
            relief_region=region,
            relief_source=source,
        ),
    )
    sc = collect(predictor, data, split, relief=True)
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        with open(cache / name, "wb") as f:
            pickle.dump(sc, f)
    return sc


def measures(s: np.ndarray, sc: dict[str, Any], t: float) -> dict[str, float]:
    lv, att = sc["is_live"], sc["attack"]
    out = {"auc": metrics.auc(s, lv), "bpcer": metrics.bpcer(s, lv, t)}
    per = metrics.apcer_per_species(s, lv, att, t)
    for sp in SPECIES:
        out[f"apcer_{sp}"] = float(per.get(sp, float("nan")))
    out["acer"] = (out["bpcer"] + max(out[f"apcer_{sp}"] for sp in SPECIES if sp in per)) / 2
    return out


def accepted_per_variant(s: np.ndarray, sc: dict[str, Any], t: float) -> dict[str, str]:
    """'k of n' accepted per species/variant at threshold t."""
    out: dict[str, str] = {}
    keys = np.char.add(np.char.add(sc["attack"].astype(str), "/"), sc["variant"].astype(str))
    for k in sorted(set(keys)):
        m = keys == k
        out[str(k)] = f"{int((s[m] >= t).sum())} of {int(m.sum())}"
    return out


def cue_alone(sc: dict[str, Any]) -> dict[str, float]:
    """AUC live vs each species with the misfit as the score; a clip where it could not be
    measured scores RELIEF_REF_PCT, where the fusion's term is 0 (neither flat nor deep)."""
    r = np.array([x.misfit_pct if x is not None and x.measured else RELIEF_REF_PCT
                  for x in sc["relief"]])  # fmt: skip
    lv, att = sc["is_live"], sc["attack"]
    return {sp: metrics.auc(r[lv | (att == sp)], lv[lv | (att == sp)]) for sp in SPECIES}


def plot_cue(sets: dict[str, dict[str, Any]], path: str, gate: float | None = None) -> None:
    """One panel per set: the misfit's distribution (log scale) per species, the fusion's 1 %;
    with `gate` (flat_gate_pct) only the captures with sensors, which the gate applies to, and
    the gate as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(sets), figsize=(4.2 * len(sets), 3.4), squeeze=False)
    bins = np.logspace(-1.3, 1.0, 30)
    for ax, (spec, sc) in zip(axes[0], sets.items(), strict=True):
        r = np.array([x.misfit_pct if x is not None and x.measured else np.nan
                      for x in sc["relief"]])  # fmt: skip
        if gate is not None:
            r[~np.asarray(sc["has_imu"], bool)] = np.nan
        colours = {"none": "tab:green", "injection": "tab:purple", "print": "tab:red",
                   "replay": "tab:orange"}  # fmt: skip
        for sp, colour in colours.items():
            v = r[(sc["attack"] == sp) & np.isfinite(r)]
            label = "genuine" if sp == "none" else sp
            ax.hist(np.clip(v, bins[0], bins[-1]), bins, histtype="step",
                    weights=np.full(len(v), 1.0 / max(len(v), 1)), color=colour, lw=1.6,
                    label=f"{label} ({len(v)})")  # fmt: skip
        ax.axvline(1.0, color="k", ls=":", lw=1)
        if gate is not None:
            ax.axvline(gate, color="tab:red", ls="--", lw=1.2, label=f"gate {gate:.3f} %")
        ax.set_xscale("log")
        ax.set_xlabel("face misfit to one plane, % of width")
        ax.set_ylabel("share of the species' clips")
        ax.set_title(spec + (", with sensors" if gate is not None else ""), fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_near(sets: dict[str, dict[str, Any]], path: str, flat: float) -> None:
    """One panel per set, the captures with sensors whose motion check agrees: the room's inverse
    depth (Agreement.room_per_m) against the flatness cue on the motion check's tracks, per
    species, and the near-and-flat gate's corner (room ≥ NEAR_PER_M, cue < flat)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(sets), figsize=(4.4 * len(sets), 3.8), squeeze=False)
    looks = {"none": ("tab:green", "o", "genuine"), "print": ("tab:red", "^", "print"),
             "replay": ("tab:orange", "s", "replay")}  # fmt: skip
    for ax, (spec, sc) in zip(axes[0], sets.items(), strict=True):
        room = np.array([a.room_per_m if a is not None else np.nan for a in sc["motion"]])
        cue = np.array([r.misfit_pct if r is not None and r.measured else np.nan
                        for r in sc["relief"]])  # fmt: skip
        agrees = np.array([a is not None and a.status == "agrees" for a in sc["motion"]])
        for sp, (colour, marker, label) in looks.items():
            m = agrees & (sc["attack"] == sp) & np.isfinite(room) & np.isfinite(cue)
            ax.scatter(np.clip(cue[m], 0.05, 20), np.clip(room[m], -1, 6), s=12, c=colour,
                       marker=marker, alpha=0.6, label=f"{label} ({int(m.sum())})")  # fmt: skip
        ax.axhline(NEAR_PER_M, color="k", ls="--", lw=1)
        ax.axvline(flat, color="k", ls="--", lw=1)
        ax.fill_between([0.05, flat], NEAR_PER_M, 6, color="tab:red", alpha=0.08, lw=0)
        ax.set_xscale("log")
        ax.set_xlim(0.05, 20)
        ax.set_ylim(-1, 6)
        ax.set_xlabel("scene's misfit to one plane, % of width")
        ax.set_ylabel("room's inverse depth, 1/m")
        data, split = spec.rsplit(":", 1)
        names = " + ".join(Path(d).name for d in data.split(","))
        ax.set_title(f"{names} ({split}): motion agrees, with sensors", fontsize=9)
        ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--cal", required=True, help="DATA:SPLIT the fusion and threshold are fit on")
    ap.add_argument("--report", action="append", required=True,
                    help="DATA:SPLIT reported; DATA,DATA2:SPLIT pools them")  # fmt: skip
    ap.add_argument("--bpcer", type=float, default=0.10, help="the threshold rule's target")
    ap.add_argument("--cache", default=None)
    ap.add_argument("--relief-side", type=int, default=MotionConfig().relief_side,
                    help="MotionConfig.relief_side of the cue (0: whole frame)")  # fmt: skip
    ap.add_argument("--relief-surround", type=float, default=MotionConfig().relief_surround,
                    help="MotionConfig.relief_surround of the cue (1: the box alone)")  # fmt: skip
    ap.add_argument("--relief-region", default=MotionConfig().relief_region,
                    choices=("box", "oval"), help="MotionConfig.relief_region")  # fmt: skip
    ap.add_argument("--relief-source", default=MotionConfig().relief_source,
                    choices=("own", "motion"), help="MotionConfig.relief_source")  # fmt: skip
    ap.add_argument("--flat-gate", type=float, default=None, metavar="Q",
                    help="the gate at this genuine quantile instead of the fusion")  # fmt: skip
    ap.add_argument("--near-gate", type=float, default=None, metavar="Q",
                    help="the near-and-flat gate at this genuine quantile of the cue")  # fmt: skip
    ap.add_argument("--variants", action="store_true", help="also accepted per attack variant")
    ap.add_argument("--plot", default=None, help="PNG: the cue per species on each report set "
                    "(with --near-gate: against the room's depth)")  # fmt: skip
    args = ap.parse_args()
    if args.near_gate is not None:
        args.relief_source = "motion"
    cache = Path(args.cache) if args.cache else None
    cols = ["auc", "bpcer", *(f"apcer_{sp}" for sp in SPECIES), "acer"]
    print(
        "| model | cue | set | AUC | BPCER | APCER injection | APCER print | APCER replay | ACER |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    table: dict[tuple[str, str], list[dict[str, float]]] = {}
    alone: dict[str, list[dict[str, float]]] = {}
    per_variant: list[str] = []
    gating = "near" if args.near_gate is not None else "gate" if args.flat_gate is not None else ""
    labels = ("without", gating or "with")
    for model in args.model:
        how = (cache, args.relief_side, args.relief_surround, args.relief_region,
               args.relief_source)  # fmt: skip
        cal = scored_set(model, args.cal, *how)
        reports = {spec: scored_set(model, spec, *how) for spec in args.report}
        cfg = load_predictor(model, check_face=False).config
        cfg = dataclasses.replace(
            cfg, motion=dataclasses.replace(cfg.motion, relief_source=args.relief_source)
        )
        base = fit_fusion(cal, motion_gate=True, relief=False)
        t, _ = pick_threshold(decided(cal, dataclasses.replace(cfg, fusion=base)),
                              cal["is_live"], cal["attack"], "bpcer", args.bpcer)  # fmt: skip
        for label in labels:
            fusion, thr = base, t
            if label == "gate":
                fusion = dataclasses.replace(base, flat_gate_pct=flat_level(cal, args.flat_gate))
            elif label == "near":
                fusion = dataclasses.replace(
                    base,
                    near_gate_per_m=NEAR_PER_M,
                    near_flat_pct=flat_level(cal, args.near_gate),
                )
            elif label == "with":
                fusion = fit_fusion(cal, motion_gate=True, relief=True)
                c = dataclasses.replace(cfg, fusion=fusion)
                thr, _ = pick_threshold(decided(cal, c), cal["is_live"], cal["attack"], "bpcer",
                                        args.bpcer)  # fmt: skip
            c = dataclasses.replace(cfg, fusion=fusion)
            for spec, sc in reports.items():
                s = decided(sc, c)
                m = measures(s, sc, thr)
                table.setdefault((label, spec), []).append(m)
                cells = " | ".join(f"{m[k]:.3f}" for k in cols)
                print(f"| {Path(model).stem} | {label} | {spec} | {cells} |")
                if args.variants:
                    got = accepted_per_variant(s, sc, thr)
                    per_variant.append(f"- {Path(model).stem}, {label}, {spec}: " + ", ".join(
                        f"{k} {v}" for k, v in got.items()))  # fmt: skip
            print(f"| {Path(model).stem} | {label} | threshold {thr:.4f} "
                  f"| w_relief {fusion.w_relief:.3f} | flat_gate_pct "
                  f"{fusion.flat_gate_pct:.3f} | near_flat_pct {fusion.near_flat_pct:.3f} "
                  "| | | |")  # fmt: skip
        for spec, sc in reports.items():
            alone.setdefault(spec, []).append(cue_alone(sc))
        if args.plot and model == args.model[0] and args.near_gate is not None:
            plot_near(reports, args.plot, flat_level(cal, args.near_gate))
        elif args.plot and model == args.model[0]:
            gate = flat_level(cal, args.flat_gate) if args.flat_gate is not None else None
            plot_cue(reports, args.plot, gate)
    if per_variant:
        print("\nAccepted per variant:\n")
        print("\n".join(per_variant))
    print("\nMeans over the models (spread: half the range):\n")
    print("| cue | set | AUC | BPCER | APCER injection | APCER print | APCER replay | ACER |")
    print("|---|---|---|---|---|---|---|---|")
    for (label, spec), ms in table.items():
        spread = []
        for k in cols:
            v = np.array([m[k] for m in ms])
            spread.append(f"{v.mean():.3f} ± {(v.max() - v.min()) / 2:.3f}")
        print(f"| {label} | {spec} | {' | '.join(spread)} |")
    print("\nThe cue alone (AUC live vs species, the misfit as the score; the same for every "
          "model):\n")  # fmt: skip
    for spec, rows in alone.items():
        print(f"- {spec}: " + ", ".join(f"{sp} {rows[0][sp]:.3f}" for sp in SPECIES))


if __name__ == "__main__":
    main()
