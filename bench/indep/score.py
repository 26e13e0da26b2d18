"""Score rendered clips with `liveness predict --json` and print per-variant markdown tables.

    python bench/indep/score.py /tmp/indep/phone31 [--model FILE]
    python bench/indep/score.py /tmp/indep/phone3{1,2,3,4} --reuse   # each draw, then pooled

Error rates come with 95 % Wilson intervals: one draw's 24 prints cannot tell 8 % from 20 %.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from liveness.metrics import wilson_interval


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(score_pos > score_neg) + half the ties (rank-based AUC); nan if a side is empty."""
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    d = pos[:, None] - neg[None, :]
    return float(((d > 0).sum() + 0.5 * (d == 0).sum()) / d.size)


def run_predict(clips: list[Path], model: str | None) -> list[dict]:
    exe = Path(sys.executable).with_name("liveness")
    cmd = [str(exe) if exe.exists() else (shutil.which("liveness") or "liveness"), "predict"]
    cmd += ["--json"] + (["--model", model] if model else []) + [str(c) for c in clips]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    out = [json.loads(x) for x in res.stdout.splitlines() if x.strip().startswith("{")]
    if res.returncode != 0 or len(out) != len(clips):
        print(
            f"warning: predict exited {res.returncode}, {len(out)} lines for {len(clips)} "
            f"clips; stderr tail: {res.stderr[-800:]}",
            file=sys.stderr,
        )
    return out


def fmt(x: float) -> str:
    return "—" if np.isnan(x) else f"{x:.3f}"


def ci(k: int, n: int) -> str:
    """k of n's 95 % Wilson interval, "[lo–hi]": what a draw of this size can tell apart."""
    lo, hi = wilson_interval(k, n)
    return f"[{fmt(lo)}–{fmt(hi)}]"


def table(rows: list[dict]) -> str:
    live_scores = np.array([r["score"] for r in rows if r["attack"] == "none" and r["ok"]])
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["attack"], r["variant"]), []).append(r)
    order = ["none", "print", "replay", "injection"]
    keys = sorted(groups, key=lambda k: (order.index(k[0]) if k[0] in order else 9, k[1]))
    out = [
        "| attack | variant | n | no-IMU | errors | accepted | AUC live vs group "
        "| motion status (IMU clips) | top reasons |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for k in keys:
        g = groups[k]
        acc = np.mean([r["live"] for r in g])
        sc = np.array([r["score"] for r in g if r["ok"]])
        a = auc(live_scores, sc) if k[0] != "none" else float("nan")
        st = Counter(r["status"] for r in g if r["has_imu"])
        rs = Counter(c for r in g for c in r["codes"]).most_common(3)
        out.append(
            f"| {k[0]} | {k[1]} | {len(g)} | {sum(not r['has_imu'] for r in g)} | "
            f"{sum(not r['ok'] for r in g)} | {acc:.2f} | {fmt(a)} | "
            f"{', '.join(f'{s} {n}' for s, n in sorted(st.items())) or '—'} | "
            f"{', '.join(f'{c} {n}' for c, n in rs) or '—'} |"
        )
    live = [r for r in rows if r["attack"] == "none"]
    bpcer = float(np.mean([not r["live"] for r in live])) if live else float("nan")
    out += [
        "",
        "| metric | value (95 % Wilson interval in brackets) |",
        "|---|---|",
        f"| n clips | {len(rows)} |",
        f"| BPCER (live refused) | {fmt(bpcer)} ({(refused := sum(not r['live'] for r in live))}/"
        f"{len(live)}) {ci(refused, len(live))} |",
    ]
    worst = 0.0
    for sp in [s for s in order[1:] if any(r["attack"] == s for r in rows)]:
        g = [r for r in rows if r["attack"] == sp]
        ap = float(np.mean([r["live"] for r in g]))
        worst = max(worst, ap)
        sc = np.array([r["score"] for r in g if r["ok"]])
        passed = sum(r["live"] for r in g)
        out.append(f"| APCER {sp} | {ap:.3f} ({passed}/{len(g)}) {ci(passed, len(g))} |")
        out.append(f"| AUC live vs {sp} | {fmt(auc(live_scores, sc))} |")
    out.append(f"| ACER = (worst APCER + BPCER)/2 | {fmt((worst + bpcer) / 2)} |")
    thr = sorted({r["threshold"] for r in rows if r["threshold"] is not None})
    out.append(f"| shipped threshold | {', '.join(f'{t:.4f}' for t in thr)} |")
    return "\n".join(out)


def saved_lines(d: Path, model: str | None) -> Path:
    """Where a draw's predict lines go: DIR/predict.jsonl for the bundled model, else
    DIR/predict_<model file name>.jsonl. The whole name, suffix included: a checkpoint and its
    exports share a stem (default.pt, default.tflite) and must not overwrite each other."""
    return d / f"predict{f'_{Path(model).name}' if model else ''}.jsonl"


def draw_rows(d: Path, model: str | None, jsonl: Path | None, reuse: bool) -> list[dict]:
    """One rendered draw's clips scored through `liveness predict --json` (or, with reuse, the
    lines a run before saved), one row each for table()."""
    clips = sorted(p for p in d.iterdir() if (p / "frames.csv").exists())
    saved = jsonl or saved_lines(d, model)
    if reuse:
        preds = [json.loads(x) for x in saved.read_text().splitlines() if x.strip()]
    else:
        preds = run_predict(clips, model)
        saved.write_text("".join(json.dumps(p) + "\n" for p in preds))
    by = {Path(p.get("clip", "")).resolve(): p for p in preds}
    rows = []
    for c in clips:
        meta = json.loads((c / "meta.json").read_text())
        p = by.get(c.resolve(), {"error": "no output line"})
        ok = "error" not in p and p.get("score") is not None
        mo = p.get("motion") or {}
        rows.append(
            {
                "clip": c.name,
                "attack": meta["attack"],
                "variant": meta["variant"],
                "ok": ok,
                "live": bool(p.get("live", False)) and ok,
                "score": float(p.get("score") or 0.0),
                "threshold": p.get("threshold"),
                "has_imu": (c / "imu.csv").exists(),
                "status": mo.get("status", "none") if isinstance(mo, dict) else str(mo),
                "codes": [x.get("code", "?") for x in p.get("reasons") or [] if isinstance(x, dict)]
                + (["error"] if not ok else []),
            }
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("dirs", type=Path, nargs="+", help="rendered draws; several are also pooled")
    ap.add_argument("--model", default=None)
    ap.add_argument("--jsonl", type=Path, default=None,
                    help="where predict's lines go, with one draw (default: DIR/predict.jsonl "
                         "with the bundled model, DIR/predict_<model file name>.jsonl with "
                         "--model, so scoring two models on one draw keeps both)")  # fmt: skip
    ap.add_argument("--reuse", action="store_true",
                    help="tabulate the lines saved before instead of predicting again")  # fmt: skip
    a = ap.parse_args()
    if a.jsonl and len(a.dirs) > 1:
        ap.error("--jsonl names one draw's file; give one DIR with it")
    pooled = []
    for d in a.dirs:
        rows = draw_rows(d, a.model, a.jsonl, a.reuse)
        print(f"# {d}\n\n{table(rows)}\n")
        pooled += rows
    if len(a.dirs) > 1:
        print(f"# pooled: {', '.join(d.name for d in a.dirs)}\n\n{table(pooled)}")


if __name__ == "__main__":
    main()
