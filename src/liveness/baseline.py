"""The motion agreement alone, as a detector: AUC per species and variant, refused live clips.

`liveness baseline DATA --split test` runs liveness.motion on every clip of a split with no
learning at all and reports how well its two physical features separate live from each attack:
`motion` = 1 − the agreement score (the video's rotation against the gyro; NaN without sensors)
and `planarity` = −(residual of one affine motion fitted to the tracked face-region points ÷
their motion): a print or a screen is one plane, a face is not. It also lists every live clip the
motion check refuses on its own, with the words it gives, and counts the live clips whose own
IMU, replayed REPLAYS_MS late (the cheapest injection there is), the check still accepts.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from liveness.clip import read_clip
from liveness.config import MotionConfig
from liveness.manifest import read_manifest
from liveness.metrics import auc as _auc
from liveness.motion import Agreement, VideoMotion, agreement, compare

FEATURES = ("motion", "planarity")
REPLAYS_MS = (150.0, 300.0)


def planarity(vm: VideoMotion) -> float:
    """−(affine-fit residual ÷ motion) of the face region's tracked points, over the clip:
    near 0 for a flat, rigid surface (print, screen), more negative for a 3-D face."""
    cx, cy, rx, ry = vm.oval
    num = den = 0.0
    for a, b in vm.tracks:
        if len(a) < 6:
            continue
        inside = ((a[:, 0] - cx) / rx) ** 2 + ((a[:, 1] - cy) / ry) ** 2 <= 1.0
        if inside.sum() < 6:
            continue
        pa, flow = a[inside], (b - a)[inside]
        x = np.column_stack([np.ones(len(pa)), pa])
        coef, *_ = np.linalg.lstsq(x, flow, rcond=None)
        num += float(np.sum((flow - x @ coef) ** 2))
        den += float(np.sum(flow**2))
    return -num / (den + 1e-6)


def clip_features(path: str | os.PathLike[str]) -> tuple[dict[str, float], Agreement]:
    """The features of one clip, and its agreement; with sensors also whether the same video
    agrees with its own IMU replayed each of REPLAYS_MS late ("replay_150": 1.0 or 0.0)."""
    clip = read_clip(path)
    cfg = MotionConfig()
    a, vm = agreement(clip.frames, clip.frame_t_ms, clip.imu, cfg)
    motion = 1.0 - a.score if np.isfinite(a.score) else float("nan")
    feats = {"motion": motion, "planarity": planarity(vm)}
    if clip.imu is not None:
        for late in REPLAYS_MS:
            imu = clip.imu.copy()
            imu[:, 0] += late
            feats[f"replay_{late:g}"] = float(compare(vm, imu, cfg).status == "agrees")
    return feats, a


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(score of a random positive > score of a random negative), ties half (Mann–Whitney)."""
    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    pos, neg = pos[np.isfinite(pos)], neg[np.isfinite(neg)]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    # metrics.auc: live (True) scoring above attacks; here the positive is the attack.
    return _auc(
        np.concatenate([pos, neg]), np.r_[np.ones(len(pos), bool), np.zeros(len(neg), bool)]
    )


def evaluate_baseline(
    dataset: str | os.PathLike[str], split: str = "test", workers: int = 1, progress: bool = True
) -> dict[str, Any]:
    """Features of every clip of `split`; AUC of each feature, live vs each species and variant;
    the live clips the motion check refuses on its own."""
    root = Path(dataset)
    rows = [r for r in read_manifest(root / "manifest.csv") if split in ("all", r.split)]
    if not rows:
        raise ValueError(f"{root}: no clips in split {split!r}")
    paths = [str(root / r.clip) for r in rows]
    if workers > 1:
        # forkserver, not fork: forking a multithreaded parent can deadlock the child.
        with mp.get_context("forkserver" if hasattr(os, "fork") else "spawn").Pool(workers) as pool:
            it = pool.imap(clip_features, paths, chunksize=4)
            got = list(tqdm(it, total=len(paths), desc="baseline", disable=not progress))
    else:
        got = [clip_features(p) for p in tqdm(paths, desc="baseline", disable=not progress)]
    feats = [f for f, _ in got]
    live = [i for i, r in enumerate(rows) if r.attack == "none"]

    def table(groups: dict[str, list[int]]) -> dict[str, dict[str, float]]:
        out = {}
        for name, idx in groups.items():
            row = {}
            for f in FEATURES:
                row[f] = auc(
                    np.array([feats[i][f] for i in idx]), np.array([feats[i][f] for i in live])
                )
            row["n"] = float(len(idx))
            row["n_with_imu"] = float(sum(rows[i].has_imu for i in idx))
            row["refused"] = float(
                np.mean([got[i][1].status != "agrees" for i in idx if rows[i].has_imu] or [np.nan])
            )
            out[name] = row
        return out

    species = sorted({r.attack for r in rows} - {"none"})
    variants = sorted({f"{r.attack}/{r.variant}" for r in rows if r.attack != "none"})
    by_species = table({s: [i for i, r in enumerate(rows) if r.attack == s] for s in species})
    by_variant = table({v: [i for i, r in enumerate(rows) if f"{r.attack}/{r.variant}" == v]
                        for v in variants})  # fmt: skip
    live_imu = [i for i in live if rows[i].has_imu]
    refused = [{"clip": rows[i].clip, "status": got[i][1].status, "words": got[i][1].words()}
               for i in live_imu if got[i][1].status != "agrees"]  # fmt: skip
    replayed = {f"{late:g}": int(sum(feats[i][f"replay_{late:g}"] for i in live_imu))
                for late in REPLAYS_MS}  # fmt: skip
    return {
        "dataset": str(root), "split": split, "n_clips": len(rows), "n_live": len(live),
        "n_live_with_imu": len(live_imu), "auc": by_species, "auc_by_variant": by_variant,
        "live_refused": refused, "own_imu_replayed_agreeing": replayed,
    }  # fmt: skip


def format_report(report: dict[str, Any]) -> str:
    """Markdown tables of the AUCs and the list of refused live clips."""
    head = "| {} | n (with IMU) | " + " | ".join(f"AUC {f}" for f in FEATURES) + " | refused |"
    lines = [
        f"Motion agreement alone on {report['dataset']} ({report['split']}: {report['n_clips']} "
        f"clips, {report['n_live']} live). AUC live vs attack (1 = separable, 0.5 = chance); "
        "refused = share the motion check alone does not call agreeing (clips with IMU).",
    ]
    for key, name in (("auc", "species"), ("auc_by_variant", "variant")):
        lines += ["", head.format(name), "|---|---|" + "---|" * (len(FEATURES) + 1)]
        for k, row in report[key].items():
            vals = " | ".join(f"{row[f]:.3f}" for f in FEATURES)
            lines.append(f"| {k} | {int(row['n'])} ({int(row['n_with_imu'])}) | {vals} | "
                         f"{row['refused']:.2f} |")  # fmt: skip
    n, refused = report["n_live_with_imu"], report["live_refused"]
    lines += ["", f"Live clips with IMU the motion check refuses on its own: {len(refused)} of {n}"]
    lines += [f"- {r['clip']}: {r['status']}: {r['words']}" for r in refused]
    replayed = report.get("own_imu_replayed_agreeing", {})
    if replayed:
        lines += ["", "The same live clips with their own IMU replayed late, still agreeing: "
                  + ", ".join(f"+{k} ms: {v} of {n}" for k, v in replayed.items())]  # fmt: skip
    return "\n".join(lines)
