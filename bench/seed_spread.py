"""Mean and spread over training seeds: one table from several `liveness evaluate` reports.

    python bench/seed_spread.py runs/a_s0/eval runs/a_s1/eval [--name recipe-a]

Each argument is an evaluate output folder (its report.json) of one seed of the same recipe.
Prints, for the in-domain split and (when the reports have it) the shifted set, every
headline number as `mean ± half-range (min–max)` over the seeds: one seed decides nothing
within its noise, so comparisons are made on this table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np


def headline(s: dict[str, Any]) -> dict[str, float]:
    """The numbers a comparison is decided on, from one set's summary (report.json)."""
    out = {"AUC": s["auc"]}
    for sp, v in sorted(s["auc_per_species"].items()):
        out[f"AUC {sp}"] = v
    out["worst APCER"] = s["apcer_max"]
    out["BPCER"] = s["bpcer"]
    if "with_imu" in s:
        out["AUC with IMU"] = s["with_imu"]["auc"]
        out["worst APCER with IMU"] = s["with_imu"]["apcer_max"]
        out["BPCER with IMU"] = s["with_imu"]["bpcer"]
    return out


def spread(values: list[float]) -> str:
    a = np.asarray(values, dtype=float)
    lo, hi = float(a.min()), float(a.max())
    return f"{a.mean():.3f} ± {(hi - lo) / 2:.3f} ({lo:.3f}–{hi:.3f})"


def table(reports: list[dict[str, Any]], key: str | None) -> list[str]:
    sets = [r[key] if key else r for r in reports]
    rows = [headline(s) for s in sets]
    lines = ["| metric | mean ± half-range (min–max) |", "|---|---|"]
    for name in rows[0]:
        lines.append(f"| {name} | {spread([r[name] for r in rows if name in r])} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("reports", nargs="+", help="evaluate output folders, one per seed")
    ap.add_argument("--name", default="", help="recipe name for the heading")
    args = ap.parse_args()
    reports = [json.loads((Path(p) / "report.json").read_text()) for p in args.reports]
    print(f"## {args.name or 'recipe'}: {len(reports)} seeds ({', '.join(args.reports)})\n")
    thresholds = ", ".join(f"{r['threshold']:.4f}" for r in reports)
    print(f"In-domain: {reports[0].get('split', '?')}, threshold per seed {thresholds}\n")
    print("\n".join(table(reports, None)))
    if all("shifted" in r for r in reports):
        print("\nShifted set\n")
        print("\n".join(table(reports, "shifted")))


if __name__ == "__main__":
    main()
