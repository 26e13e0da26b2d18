"""A non-learned physics baseline: does the video move the way the gyro says, and is it flat?"""

from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from liveness.clip import Clip, read_clip
from liveness.flow import focal_for, integrate_gyro, lucas_kanade, rotation_flow, to_gray
from liveness.manifest import read_manifest

GRID = (8, 6)  # blocks down, across
FEATURES = ("gyro_global", "gyro_best", "planarity")
BEST_SHARE = 0.3  # share of blocks that must agree with the gyro in `gyro_best`


def _blocks(flow: np.ndarray, conf: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Confidence-weighted mean flow per block: centres (B, 2) as (u, v), flows (B, 2), weights."""
    h, w = conf.shape
    rows, cols = GRID
    centres, flows, weights = [], [], []
    for i in range(rows):
        for j in range(cols):
            sl = (
                slice(i * h // rows, (i + 1) * h // rows),
                slice(j * w // cols, (j + 1) * w // cols),
            )
            c = conf[sl]
            s = float(c.sum())
            flows.append((flow[sl] * c[..., None]).sum(axis=(0, 1)) / max(s, 1e-9))
            weights.append(s)
            centres.append(((j + 0.5) * w / cols, (i + 0.5) * h / rows))
    return np.array(centres), np.array(flows), np.array(weights)


def clip_features(clip: Clip, factor: int = 2) -> dict[str, float]:
    """Physics features of one clip (higher = less like a live 3-D face filmed by this phone).

    gyro_global: ‖O − P‖² / (‖O‖² + ‖P‖²) over the clip, O the observed mean image motion and
      P the motion the gyro's rotation predicts (NaN without IMU). 0 = agree, 1 = unrelated.
    gyro_best: the same on the BEST_SHARE blocks that agree best (the distant background of a
      live scene moves with the phone's rotation; nothing does in a rig or an injected stream).
    planarity: how well one affine motion explains the central blocks' motion, relative to its
      size (a print or screen is one plane; a face and its background are not).
    """
    frames = clip.frames
    grays = [to_gray(f, factor) for f in frames]
    h, w = grays[0].shape
    f = focal_for(w)
    obs_all, pred_all, best_num, best_den = [], [], 0.0, 0.0
    plan_num, plan_den = 0.0, 0.0
    for k in range(len(grays) - 1):
        flow, conf = lucas_kanade(grays[k], grays[k + 1])
        centres, flows, wts = _blocks(flow, conf)
        wn = wts / max(wts.sum(), 1e-9)
        # Planarity on the central blocks: least-squares affine fit of the flow.
        central = (np.abs(centres[:, 0] - w / 2) < w / 3) & (np.abs(centres[:, 1] - h / 2) < h / 3)
        a = np.column_stack([np.ones(central.sum()), centres[central]])
        sw = np.sqrt(wn[central])[:, None]
        coef, *_ = np.linalg.lstsq(a * sw, flows[central] * sw, rcond=None)
        resid = flows[central] - a @ coef
        plan_num += float(np.sum(wn[central, None] * resid**2))
        # Relative to the motion's own size (mean included), so a flat, purely shifting scene
        # scores as flat.
        plan_den += float(np.sum(wn[central, None] * flows[central] ** 2))
        if clip.imu is not None:
            delta = integrate_gyro(clip.imu, clip.frame_t_ms[k], clip.frame_t_ms[k + 1])
            pred = rotation_flow(delta, centres[:, 0], centres[:, 1], w, h, f)
            obs_all.append(wn @ flows)
            pred_all.append(wn @ pred)
            err = np.sum((flows - pred) ** 2, -1)
            best = np.argsort(err)[: max(1, int(BEST_SHARE * len(err)))]
            best_num += float(err[best].sum())
            best_den += float(np.sum(flows[best] ** 2 + pred[best] ** 2))
    out = {"planarity": -plan_num / (plan_den + 1e-6)}  # less residual -> flatter -> more spoof
    if clip.imu is not None:
        o, p = np.array(obs_all), np.array(pred_all)
        out["gyro_global"] = float(np.sum((o - p) ** 2) / (np.sum(o**2) + np.sum(p**2) + 1e-6))
        out["gyro_best"] = best_num / (best_den + 1e-6)
    else:
        out["gyro_global"] = out["gyro_best"] = float("nan")
    return out


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(score of a random positive > score of a random negative), ties half (Mann–Whitney)."""
    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    allv = np.concatenate([pos, neg])
    order = allv.argsort(kind="mergesort")
    ranks = np.empty(len(allv))
    sorted_v = allv[order]
    # Average ranks over ties.
    _, start, counts = np.unique(sorted_v, return_index=True, return_counts=True)
    avg = start + (counts - 1) / 2.0 + 1
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def _features_of(path: str) -> dict[str, float]:
    return clip_features(read_clip(path))


def evaluate_baseline(
    dataset: str | os.PathLike[str], split: str = "test", workers: int = 1, progress: bool = True
) -> dict[str, Any]:
    """Features for every clip of `split`, then AUC of each feature, live vs each species.

    A spoof is the positive class (scores point toward attacks). Gyro features are judged on
    clips that carry an IMU; planarity on all clips.
    """
    root = Path(dataset)
    rows = [r for r in read_manifest(root / "manifest.csv") if split in ("all", r.split)]
    if not rows:
        raise ValueError(f"{root}: no clips in split {split!r}")
    paths = [str(root / r.clip) for r in rows]
    if workers > 1:
        # forkserver, not fork: forking a multithreaded parent can deadlock the child.
        with mp.get_context("forkserver" if hasattr(os, "fork") else "spawn").Pool(workers) as pool:
            feats = list(
                tqdm(
                    pool.imap(_features_of, paths, chunksize=4),
                    total=len(paths),
                    desc="baseline",
                    disable=not progress,
                )
            )
    else:
        feats = [_features_of(p) for p in tqdm(paths, desc="baseline", disable=not progress)]
    live = [i for i, r in enumerate(rows) if r.attack == "none"]
    table: dict[str, dict[str, float]] = {}
    species = sorted({r.attack for r in rows} - {"none"})
    for sp in species:
        spoof = [i for i, r in enumerate(rows) if r.attack == sp]
        table[sp] = {}
        for name in FEATURES:
            imu_only = name.startswith("gyro")
            pos = [feats[i][name] for i in spoof if not (imu_only and not rows[i].has_imu)]
            neg = [feats[i][name] for i in live if not (imu_only and not rows[i].has_imu)]
            table[sp][name] = auc(np.array(pos), np.array(neg))
        table[sp]["n_spoof"] = float(len(spoof))
    variants: dict[str, dict[str, float]] = {}
    for r_var in sorted({(r.attack, r.variant) for r in rows if r.attack != "none"}):
        idx = [i for i, r in enumerate(rows) if (r.attack, r.variant) == r_var and r.has_imu]
        neg = [feats[i]["gyro_best"] for i in live if rows[i].has_imu]
        variants["/".join(r_var)] = {
            "gyro_best": auc(np.array([feats[i]["gyro_best"] for i in idx]), np.array(neg)),
            "n": float(len(idx)),
        }
    return {
        "dataset": str(root),
        "split": split,
        "n_clips": len(rows),
        "n_live": len(live),
        "auc": table,
        "auc_by_variant_gyro_best": variants,
    }


def format_report(report: dict[str, Any]) -> str:
    """A Markdown table of the AUCs."""
    lines = [
        f"Physics baseline on {report['dataset']} ({report['split']}: {report['n_clips']} clips, "
        f"{report['n_live']} live). AUC, live vs species (1 = separable, 0.5 = chance):",
        "",
        "| species | n | " + " | ".join(FEATURES) + " |",
        "|---|---|" + "---|" * len(FEATURES),
    ]
    for sp, row in report["auc"].items():
        vals = " | ".join(f"{row[f]:.3f}" for f in FEATURES)
        lines.append(f"| {sp} | {int(row['n_spoof'])} | {vals} |")
    lines += [
        "",
        "gyro_best by variant (clips with IMU):",
        "",
        "| variant | n | AUC |",
        "|---|---|---|",
    ]
    for v, row in report["auc_by_variant_gyro_best"].items():
        lines.append(f"| {v} | {int(row['n'])} | {row['gyro_best']:.3f} |")
    return "\n".join(lines)
