"""The export's parity report in Markdown: every file against PyTorch on every held-out set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from liveness.export import (
    FILENAMES,
    INT8_MAX_DAUC,
    INT8_MAX_P99_DP,
    INT8_MIN_AGREEMENT,
    PARITY_TOL,
)

VERDICT = (
    "Verdict: what the product answers for the clip, `liveness.decision.decide` with the "
    "checkpoint's threshold and fusion and the clip's motion agreement (a clip refused by the "
    "motion policy is refused on both sides); the face check is not part of it (every clip is "
    "assumed to show a face)."
)


def _f(r: dict[str, Any], k: str, spec: str) -> str:
    return format(r[k], spec) if k in r else "–"


def _row(fmt: str, m: dict[str, Any], r: dict[str, Any]) -> str:
    agree = (
        f"{100 * r['verdict_agreement']:.1f} % ({r['verdict_flips']})"
        if "verdict_agreement" in r
        else f"– ({r['verdict_flips']})"
    )
    return (
        f"| {FILENAMES[fmt]} | {m['precision']} | {m['bytes']:,} | {r['inputs']} | {r['n']} "
        f"| {_f(r, 'max_abs_dp', '.2e')} | {_f(r, 'p50_abs_dp', '.2e')} "
        f"| {_f(r, 'p99_abs_dp', '.2e')} | {agree} | {_f(r, 'auc_torch', '.4f')} "
        f"| {_f(r, 'auc_export', '.4f')} | {_f(r, 'delta_auc', '+.4f')} "
        f"| {_f(r, 'delta_acer', '+.4f')} | {'FAILED' if 'failed' in m else 'pass'} |"
    )


def _worst(fmt: str, r: dict[str, Any]) -> list[str]:
    lines = [f"**{FILENAMES[fmt]}, {r['inputs']}** — largest |Δp| and every flipped verdict:", ""]
    for w in r.get("worst", []):
        flip = " **verdict flips**" if w["live_torch"] != w["live_export"] else ""
        verdict = "live" if w["live_torch"] else "spoof"
        lines.append(
            f"- `{w['clip']}`: p {w['p_torch']:.4f} → {w['p_export']:.4f} "
            f"(|Δp| {w['abs_dp']:.4f}), PyTorch's verdict {verdict}{flip}"
        )
    return [*lines, ""]


def parity_markdown(results: dict[str, dict[str, Any]]) -> str:
    """One row per exported file and held-out set, then the worst clips of INT8 (and of any
    file that failed), then the criteria."""
    lines = [
        "# Export parity report",
        "",
        "| file | precision | bytes | clips | n | max abs Δp | p50 abs Δp | p99 abs Δp "
        "| verdicts agree (flips) | AUC torch | AUC export | ΔAUC | ΔACER | result |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    details: list[str] = []
    failed: list[str] = []
    for fmt, m in results.items():
        if "failed" in m:
            failed.append(f"- {m['failed']}")
        sets = m.get("parity_sets") or ([m["parity"]] if "parity" in m else [])
        for r in sets:
            lines.append(_row(fmt, m, r))
            if fmt == "int8" or "failed" in m:
                details += _worst(fmt, r)
    lines += [""]
    for fmt, m in results.items():
        if "int8_recipe" in m:  # which recipe the file is, and what failed before it
            lines.append(f"INT8 recipe of {FILENAMES.get(fmt, fmt)}: `{m['int8_recipe']}`.")
            lines += [f"- `{t['recipe']}` failed first: {t['failed']}"
                      for t in m.get("int8_recipes_failed", [])]  # fmt: skip
            lines.append("")
    if failed:
        lines += ["**Failed** (the file is not kept under its name):", "", *failed, ""]
    if details:
        lines += ["## Worst clips", "", *details]
    lines += [
        "## Criteria",
        "",
        f"Float files must agree with PyTorch to max |Δp| ≤ {PARITY_TOL:g} on every clip. "
        f"INT8 must, on every held-out set: give the same verdict as PyTorch on ≥ "
        f"{100 * INT8_MIN_AGREEMENT:g} % of the clips, keep the 99th percentile of |Δp| ≤ "
        f"{INT8_MAX_P99_DP}, and keep |ΔAUC| ≤ {INT8_MAX_DAUC}. Δp is the difference between "
        "the exported file's and the PyTorch checkpoint's probability live of the same clip.",
        "",
        VERDICT,
        "",
    ]
    return "\n".join(lines)


def summary(results: dict[str, dict[str, Any]], out_dir: Path) -> list[str]:
    """What `liveness export` prints: each file written and its parity on each set."""
    lines = []
    for fmt, m in results.items():
        lines.append(
            f"wrote {out_dir / FILENAMES[fmt]} ({m['bytes']:,} B, sha256 {m['sha256'][:16]}…)"
        )
        for r in m["parity_sets"]:
            auc = f", ΔAUC {r['delta_auc']:+.4f}" if "delta_auc" in r else ""
            lines.append(
                f"  {r['n']} {r['inputs']}: max |Δp| {r['max_abs_dp']:.2e}, p99 "
                f"{r['p99_abs_dp']:.2e}, verdicts agree {100 * r['verdict_agreement']:.1f} %{auc}"
            )
    return [*lines, f"parity report: {out_dir / 'parity_report.md'}"]
