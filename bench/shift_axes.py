"""Which shifted axis moves the scores: the training preset with one axis at a time set as the
shifted preset has it, the same seed (the same subjects, moves and attacks), one model.

    python bench/shift_axes.py [--model src/liveness/models/default.tflite] [--clips 120]
        [--seed 500] [--axes training,size,rate,lens,light,wall,shifted] [--out runs/shift_axes]
        [--painted]

A development tool: it renders its own sets (seed 500 by default, used by nothing else) and
never reads the shifted split (`data/sh81`), which stays out of every choice. Each set is
rendered once into --out and reused. Prints per set, at the model's stored threshold: the
genuine captures' median network score and decided score, BPCER (all and with IMU, and how
many of the refused the motion check refused), the decision path's AUC against each species,
and the network's alone. A paired design: each set differs from `training` in its named axes
only, so a drop in one row is that axis's doing.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from liveness import metrics
from liveness.config import SynthConfig
from liveness.synth.presets import SHIFTED, TRAINING

# Each set: the training preset with these fields taken from the shifted one.
AXES: dict[str, tuple[str, ...]] = {
    "training": (),
    "size": ("sizes", "size_weights"),
    "rate": ("fps", "imu_hz"),
    "lens": ("hfov_deg",),
    "light": ("light_warmth",),
    "wall": ("wall_style", "wall_styles"),
    "shifted": (
        "sizes",
        "size_weights",
        "fps",
        "imu_hz",
        "hfov_deg",
        "light_warmth",
        "wall_style",
        "wall_styles",
    ),
}


def config(axis: str, painted: bool = False) -> SynthConfig:
    """The training preset with `axis`'s fields as the shifted preset sets them; `painted`:
    painted walls only, as the training preset had before its wall families (the sets of the
    first measurement in docs/MODEL.md)."""
    base = dataclasses.replace(TRAINING, wall_styles=()) if painted else TRAINING
    return dataclasses.replace(base, **{k: getattr(SHIFTED, k) for k in AXES[axis]})


def row(name: str, scored: dict[str, Any], s: np.ndarray, thr: float) -> str:
    lv, att = scored["is_live"], np.asarray(scored["attack"])
    has = np.asarray(scored["has_imu"])
    net = np.asarray(scored["model"])
    refused = lv & (s < thr)
    gated = sum(
        1 for i in np.flatnonzero(refused)
        if scored["motion"][i] is not None and scored["motion"][i].status == "disagrees"
    )  # fmt: skip
    cells = [
        name,
        f"{int(lv.sum())}",
        f"{np.median(net[lv]):.2f}",
        f"{np.median(s[lv]):.2f}",
        f"{refused.sum() / lv.sum():.1%}",
        f"{(refused & has).sum() / max((lv & has).sum(), 1):.1%}",
        f"{gated}",
    ]
    for sp in ("print", "replay", "injection"):
        sel = lv | (att == sp)
        cells.append(f"{metrics.auc(s[sel], lv[sel]):.3f} / {metrics.auc(net[sel], lv[sel]):.3f}")
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", default="src/liveness/models/default.tflite")
    ap.add_argument("--clips", type=int, default=120)
    ap.add_argument("--seed", type=int, default=500)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--axes", default=",".join(AXES))
    ap.add_argument("--out", default="runs/shift_axes")
    ap.add_argument(
        "--painted", action="store_true", help="painted walls only (the preset before its families)"
    )
    args = ap.parse_args()
    from liveness.calibrate import collect, decided
    from liveness.predict import load_predictor
    from liveness.synth.generate import generate_dataset

    predictor = load_predictor(args.model)
    thr = predictor.config.threshold
    lines = [
        f"model {args.model}, threshold {thr:.4f}, {args.clips} clips per set, seed {args.seed}",
        "",
        "| set | live | net p50 | score p50 | BPCER | BPCER IMU | by motion | AUC print "
        "(path / net) | AUC replay | AUC injection |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for axis in args.axes.split(","):
        walls = "_painted" if args.painted else ""
        root = Path(args.out) / f"{axis}_{args.seed}_{args.clips}{walls}"
        if not (root / "manifest.csv").exists():
            generate_dataset(root, args.clips, args.seed, args.workers, config(axis, args.painted))
        scored = collect(predictor, root, "all")
        lines.append(row(axis, scored, decided(scored, predictor.config), thr))
        print(lines[-1], flush=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
