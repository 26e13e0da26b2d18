"""Verdicts on stabilised and unstabilised captures of one dataset, side by side.

    liveness synth --out data/st96 --clips 800 --seed 96 --workers 2 --stabilised 0.5
    python bench/stabilised.py data/st96 [--model FILE] [--split all]

Every clip goes through the product's decision path (liveness.predict, as `liveness predict`
does). A clip counts as stabilised when its meta.json carries `stabilised_sway_kept` (the
generator's electronic stabilisation, docs/SYNTH.md) or its manifest variant is `stabilised`
(the independent renderer's). Prints one markdown table: per class, with and without
sensors, how many of each kind were decided wrongly (genuine refused, attacks accepted), with
95 % Wilson intervals, and the policy codes of the genuine refusals (docs/MOTION.md,
"Stabilised captures from the generator").
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from liveness.manifest import read_manifest
from liveness.metrics import wilson_interval
from liveness.predict import load_predictor, predict_paths


def stabilised(clip_dir: Path, variant: str) -> bool:
    """Whether a clip's image was stabilised (generator's meta or renderer's variant)."""
    if variant == "stabilised":
        return True
    try:
        meta = json.loads((clip_dir / "meta.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and "stabilised_sway_kept" in meta


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("data")
    ap.add_argument("--model", default=None, help="model file (default: the bundled one)")
    ap.add_argument("--split", default="all", help="train | val | test | all")
    args = ap.parse_args()
    root = Path(args.data)
    rows = [r for r in read_manifest(root) if args.split in ("all", r.split)]
    predictor = load_predictor(args.model)
    paths = [str(root / r.clip) for r in rows]
    wrong: Counter[tuple[str, bool, bool]] = Counter()
    total: Counter[tuple[str, bool, bool]] = Counter()
    codes: Counter[tuple[bool, str]] = Counter()
    results = predict_paths(predictor, paths)
    for r, res in tqdm(zip(rows, results, strict=True), total=len(rows), unit="clip"):
        key = (r.attack, bool(r.has_imu), stabilised(root / r.clip, r.variant))
        total[key] += 1
        live = bool(res.get("live", False))
        if (r.attack == "none") != live:
            wrong[key] += 1
            if r.attack == "none":
                code = res.get("rejected") or ("error" if "error" in res else "score")
                codes[(key[2], code)] += 1
    print(f"# {root}, split {args.split}, model {args.model or 'bundled'}\n")
    print("| class | sensors | stabilised: wrong / n | not stabilised: wrong / n |")
    print("|---|---|---|---|")
    for attack in ("none", "print", "replay", "injection"):
        for imu in (True, False):
            cells = []
            for st in (True, False):
                k, n = wrong[(attack, imu, st)], total[(attack, imu, st)]
                lo, hi = wilson_interval(k, n) if n else (float("nan"), float("nan"))
                cells.append(f"{k} / {n} ({100 * k / n:.0f} % [{100 * lo:.0f}–{100 * hi:.0f}])"
                             if n else "—")  # fmt: skip
            name = "genuine refused" if attack == "none" else f"{attack} accepted"
            print(f"| {name} | {'yes' if imu else 'no'} | {cells[0]} | {cells[1]} |")
    for st in (True, False):
        parts = [f"{c} {n}" for (s, c), n in sorted(codes.items()) if s == st]
        kind = "stabilised" if st else "not stabilised"
        print(f"\ngenuine refusals, {kind}: " + ", ".join(parts))


if __name__ == "__main__":
    main()
