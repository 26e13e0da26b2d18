"""Write an evaluation report: report.json, report.md and ROC / DET / histogram PNGs."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

from liveness.metrics import LIVE, check_inputs, roc_curve

PROBIT_CLIP = 1e-4  # DET axes clip rates to [1e-4, 1 - 1e-4]: probit(0) is -inf
SUBSETS = (("all", "All"), ("with_imu", "With IMU"), ("without_imu", "Without IMU"))


def json_safe(x: Any) -> Any:
    """Plain-JSON copy of ``x``: numpy scalars/arrays to Python, NaN and ±inf to None."""
    if isinstance(x, dict):
        return {str(k): json_safe(v) for k, v in x.items()}
    if isinstance(x, list | tuple | np.ndarray):
        return [json_safe(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def probit(p: Any) -> np.ndarray:
    """Inverse standard-normal CDF of rates clipped to [1e-4, 1 - 1e-4] (the DET-plot axes)."""
    q = np.clip(np.asarray(p, dtype=float), PROBIT_CLIP, 1 - PROBIT_CLIP)
    inv = NormalDist().inv_cdf
    return np.array([inv(float(v)) for v in q.ravel()]).reshape(q.shape)


def _pct(v: Any) -> str:
    return "n/a" if v is None or not math.isfinite(v) else f"{100 * v:.2f}%"


def _ci(v: Any) -> str:
    """A [low, high] 95 % interval as text to follow a rate; empty where there is none (a report
    written before intervals were, or a subset without that class)."""
    if not v or not all(isinstance(x, float | int) and math.isfinite(x) for x in v):
        return ""
    return f" [{100 * v[0]:.1f}–{100 * v[1]:.1f}%]"


def _num(v: Any) -> str:
    return "n/a" if v is None or not math.isfinite(v) else f"{v:.4f}"


def _markdown(summary: dict[str, Any], title: str) -> str:
    subs = [(key, name) for key, name in SUBSETS if key == "all" or key in summary]
    parts = {key: summary if key == "all" else summary[key] for key, _ in subs}
    head = "| " + " | ".join(name for _, name in subs) + " |"
    rule = "|---" * (len(subs) + 2) + "|"

    def row(label: str, cell: Any) -> str:
        return f"| {label} | " + " | ".join(cell(parts[k]) for k, _ in subs) + " |"

    species = sorted({sp for p in parts.values() for sp in p["apcer_per_species"]})
    lines = [
        f"# {title}",
        "",
        f"Operating threshold: **{_num(summary['threshold'])}** (accepted as live when "
        "score >= threshold). APCER: share of attacks accepted; BPCER: share of live rejected.",
        "",
        "## Error rates per class (95 % Wilson interval in square brackets, n in round ones)",
        "",
        "| Class | Metric " + head,
        rule,
        row(
            "live (bona fide) | BPCER",
            lambda p: f"{_pct(p['bpcer'])}{_ci(p.get('bpcer_ci95'))} ({p['n_live']})",
        ),
    ]
    for sp in species:
        lines.append(
            row(
                f"{sp} | APCER",
                lambda p, sp=sp: (
                    f"{_pct(p['apcer_per_species'][sp])}"
                    f"{_ci(p.get('apcer_ci95_per_species', {}).get(sp))} "
                    f"({p['n_per_species'][sp]})"
                    if sp in p["apcer_per_species"]
                    else "— (0)"
                ),
            )
        )
    lines += ["", "## Summary", "", "| Metric " + head, rule[4:]]

    def at_target(pct: int) -> Any:
        return lambda p: (
            f"{_pct(p[f'bpcer_at_apcer_{pct}pct'])} (t = {_num(p[f'threshold_at_apcer_{pct}pct'])})"
        )

    summary_rows: list[tuple[str, Any]] = [
        ("APCER, worst species", lambda p: _pct(p["apcer_max"])),
        ("APCER, attacks pooled", lambda p: _pct(p["apcer_pooled"])),
        ("BPCER", lambda p: _pct(p["bpcer"])),
        ("ACER (worst-species APCER + BPCER) / 2", lambda p: _pct(p["acer"])),
        ("AUC (live vs attack)", lambda p: _num(p["auc"])),
        ("EER (threshold)", lambda p: f"{_pct(p['eer'])} (t = {_num(p['eer_threshold'])})"),
        ("BPCER @ APCER ≤ 1% (threshold)", at_target(1)),
        ("BPCER @ APCER ≤ 5% (threshold)", at_target(5)),
        ("n live / n attack", lambda p: f"{p['n_live']} / {p['n_attack']}"),
    ]
    lines += [row(label, cell) for label, cell in summary_rows]
    for sp in species:
        lines.append(
            row(
                f"AUC, live vs {sp}",
                lambda p, sp=sp: _num(p.get("auc_per_species", {}).get(sp, float("nan"))),
            )
        )
    lines += [
        "",
        "APCER at a target is taken over the worst species, as ISO/IEC 30107-3 does; with n "
        "attacks of a species its APCER moves in steps of 1/n.",
        "",
    ]
    return "\n".join(lines)


def summary_markdown(summary: dict[str, Any], title: str) -> str:
    """The same tables as report.md's, for another clip set (one level lower in the headings)."""
    text = _markdown(summary, title)
    return "\n".join("#" + line if line.startswith("#") else line for line in text.splitlines())


def variant_markdown(sets: list[tuple[str, dict[str, Any]]]) -> str:
    """Per generator variant, side by side for each clip set: n, share accepted at the threshold
    and AUC against that set's live clips."""
    keys = sorted({k for _, sm in sets for k in sm.get("per_variant", {})})
    head = "| variant | " + " | ".join(f"{name}: n / accepted / AUC" for name, _ in sets) + " |"
    lines = ["## Per variant (accepted at the threshold; AUC against live)", "", head,
             "|---" * (len(sets) + 1) + "|"]  # fmt: skip
    for k in keys:
        cells = []
        for _, sm in sets:
            r = sm.get("per_variant", {}).get(k)
            auc = "" if r is None or "auc_vs_live" not in r else f" / {_num(r['auc_vs_live'])}"
            cells.append("—" if r is None else f"{int(r['n'])} / {_pct(r['accepted'])}{auc}")
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _curves(
    s: np.ndarray, lv: np.ndarray, a: np.ndarray
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(label, APCER, BPCER) for all attacks pooled, then live vs each species."""
    out = []
    if (~lv).any():
        _, ap, bp = roc_curve(s, lv)
        out.append(("all attacks", ap, bp))
    for sp in sorted(set(a[~lv].tolist())):
        m = lv | (a == sp)
        _, ap, bp = roc_curve(s[m], lv[m])
        out.append((sp, ap, bp))
    return out


def write_report(
    out_dir: str | os.PathLike[str],
    summary: dict[str, Any],
    scores: Any,
    is_live: Any,
    attack: Any,
    title: str,
) -> list[Path]:
    """Write report.json, report.md, roc.png, det.png and hist.png into ``out_dir``.

    ``summary`` is :func:`liveness.metrics.summarize` of the same scores; the curves and
    histograms are drawn from ``scores``/``is_live``/``attack``. Returns the written paths.
    """
    # Object-oriented Agg: no pyplot global state, no GUI backend, safe in worker processes.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    s, lv, a = check_inputs(scores, is_live, attack)
    assert a is not None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def save(fig: Figure, name: str) -> None:
        FigureCanvasAgg(fig)
        fig.tight_layout()
        fig.savefig(out / name, dpi=110)
        written.append(out / name)

    p = out / "report.json"
    p.write_text(json.dumps(json_safe(summary), indent=2, allow_nan=False) + "\n")
    written.append(p)
    p = out / "report.md"
    p.write_text(_markdown(summary, title))
    written.append(p)

    thr = float(summary["threshold"])
    op = (summary.get("apcer_pooled", float("nan")), summary.get("bpcer", float("nan")))
    curves = _curves(s, lv, a)

    fig = Figure(figsize=(6, 5))
    ax = fig.add_subplot()
    # Straight segments, not steps: a threshold step moves one rate unless a live and an attack
    # tie, and then the diagonal is what "ties count half" in the AUC means.
    for label, ap, bp in curves:
        ax.plot(ap, 1 - bp, label=label, lw=2 if label == "all attacks" else 1)
    ax.plot([0, 1], [0, 1], "k:", lw=0.8, label="chance")
    ax.plot(op[0], 1 - op[1], "ko", label=f"threshold {thr:.3f}")
    ax.set(xlabel="APCER (attacks accepted)", ylabel="1 − BPCER (live accepted)")
    ax.set(title=f"{title}: ROC", xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    save(fig, "roc.png")

    fig = Figure(figsize=(6, 5))
    ax = fig.add_subplot()
    for label, ap, bp in curves:
        ax.plot(probit(ap), probit(bp), label=label, lw=2 if label == "all attacks" else 1)
    ax.plot(probit(op[0]), probit(op[1]), "ko", label=f"threshold {thr:.3f}")
    ticks = np.array([0.001, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99, 0.999])
    names = [f"{100 * t:g}%" for t in ticks]
    lim = (float(probit(PROBIT_CLIP)) - 0.1, float(probit(1 - PROBIT_CLIP)) + 0.1)
    ax.set_xticks(probit(ticks), names)
    ax.set_yticks(probit(ticks), names)
    ax.set(xlim=lim, ylim=lim, xlabel="APCER (normal-deviate scale; 0 and 1 drawn at the edges)")
    ax.set(ylabel="BPCER (normal-deviate scale)", title=f"{title}: DET")
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(alpha=0.3)
    save(fig, "det.png")

    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    bins = np.linspace(min(0.0, float(s.min())), max(1.0, float(s.max())), 41)
    groups = [("live", lv)] + [(sp, a == sp) for sp in sorted(set(a.tolist()) - {LIVE})]
    for label, m in groups:
        if m.any():
            ax.hist(
                s[m],
                bins=bins.tolist(),
                density=True,
                histtype="step",
                lw=1.5,
                label=f"{label} (n={m.sum()})",
            )
    ax.axvline(thr, color="k", ls="--", label=f"threshold {thr:.3f}")
    ax.set(xlabel="score (probability live)", ylabel="density", title=f"{title}: scores")
    ax.legend(fontsize=8)
    save(fig, "hist.png")
    return written
