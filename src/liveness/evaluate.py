"""`liveness evaluate`: the scoring loop (shared with training) and the ISO/IEC 30107-3 report."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from liveness import metrics
from liveness.checkpoint import model_from_checkpoint
from liveness.dataset import ATTACKS, ClipDataset
from liveness.report import summary_markdown, variant_markdown, write_report


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    """Move a batch of tensors to `device` (asynchronously where it can)."""
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


@torch.no_grad()
def evaluate(
    model: nn.Module, loader: DataLoader[Any], device: torch.device, progress: bool = True
) -> dict[str, np.ndarray]:
    """Scores (probability live) with labels, species and sensor availability of every clip."""
    model.eval()
    out: dict[str, list[np.ndarray]] = {"score": [], "is_live": [], "attack": [], "has_imu": []}
    for batch in tqdm(loader, desc="eval", unit="batch", disable=not progress, leave=False):
        b = to_device(batch, device)
        p = torch.sigmoid(model(b["video"], b["imu"], b["imu_present"]))
        out["score"].append(p.cpu().numpy())
        out["is_live"].append(batch["label"].numpy() > 0.5)
        out["attack"].append(np.array([ATTACKS[i] for i in batch["attack"].tolist()]))
        out["has_imu"].append(batch["imu_present"].numpy() > 0.5)
    return {k: np.concatenate(v) for k, v in out.items()}


def evaluate_checkpoint(
    checkpoint: str | os.PathLike[str],
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    split: str = "test",
    batch_size: int = 32,
    workers: int = 0,
    progress: bool = True,
) -> dict[str, Any]:
    """Score `split` and write report.{json,md}, ROC/DET/histogram PNGs and scores.csv to `out`.

    The threshold is the one stored in the checkpoint (calibrated on the validation split);
    nothing here is chosen on the split being evaluated.
    """
    model, cfg = model_from_checkpoint(checkpoint)
    ds = ClipDataset(data, split, cfg.preprocess, train=False)
    if len(ds) == 0:
        raise ValueError(f"{data}: split {split!r} is empty")
    dl = DataLoader(ds, batch_size, shuffle=False, num_workers=workers)
    ev = evaluate(model, dl, torch.device("cpu"), progress)
    summary = metrics.summarize(
        ev["score"], ev["is_live"], ev["attack"], cfg.threshold, has_imu=ev["has_imu"]
    )
    summary["threshold_rule"] = cfg.threshold_rule
    summary["checkpoint"] = str(checkpoint)
    summary["split"] = split
    summary["modalities"] = cfg.modalities(True)
    o = Path(out)
    o.mkdir(parents=True, exist_ok=True)
    with open(o / "scores.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["clip", "attack", "variant", "has_imu", "score"])
        for r, s in zip(ds.rows, ev["score"], strict=True):
            w.writerow([r.clip, r.attack, r.variant, int(r.has_imu), f"{s:.6f}"])
    write_report(
        o,
        summary,
        ev["score"],
        ev["is_live"],
        ev["attack"],
        title=f"{Path(checkpoint).name} on {split}",
    )
    return summary


def _score_set(
    predictor: Any, data: str | os.PathLike[str], split: str, progress: bool
) -> tuple[dict[str, Any], np.ndarray, dict[str, Any]]:
    """One clip set through the decision path: its ISO summary (with the network alone, per
    variant and the motion statuses), the decided scores, and what `collect` gathered."""
    from liveness.calibrate import collect, decided

    cfg = predictor.config
    scored = collect(predictor, data, split, progress)
    s = decided(scored, cfg)
    lv, att, has = scored["is_live"], scored["attack"], np.array(scored["has_imu"])
    summary = metrics.summarize(s, lv, att, cfg.threshold, has_imu=has)
    summary["network_only"] = metrics.summarize(np.array(scored["model"]), lv, att, cfg.threshold)
    variants: dict[str, dict[str, float]] = {}
    keys = np.array([f"{a}/{v}" for a, v in zip(att, scored["variant"], strict=True)])
    for key in sorted(set(keys.tolist())):
        sel = keys == key
        row = {"n": float(sel.sum()), "accepted": float(np.mean(s[sel] >= cfg.threshold))}
        if not key.startswith("none/"):
            row["auc_vs_live"] = metrics.auc(np.concatenate([s[lv], s[sel]]),
                                             np.concatenate([lv[lv], lv[sel]]))  # fmt: skip
        variants[key] = row
    summary["per_variant"] = variants
    motion = [a for a in scored["motion"] if a is not None]
    summary["motion_status"] = {
        st: sum(a.status == st for a in motion) for st in sorted({a.status for a in motion})
    }
    summary.update(data=str(data), split=split)
    return summary, s, scored


def _write_scores(path: Path, scored: dict[str, Any], s: np.ndarray) -> None:
    att, has = scored["attack"], scored["has_imu"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["clip", "attack", "variant", "has_imu", "network", "motion", "relief_pct",
                    "score"])  # fmt: skip
        reliefs = scored.get("relief") or [None] * len(scored["clip"])
        for i, clip in enumerate(scored["clip"]):
            a, r = scored["motion"][i], reliefs[i]
            m = "" if a is None or not np.isfinite(a.score) else f"{a.score:.4f}"
            rp = "" if r is None or not r.measured else f"{r.misfit_pct:.4f}"
            w.writerow([clip, att[i], scored["variant"][i], int(has[i]),
                        f"{scored['model'][i]:.6f}", m, rp, f"{s[i]:.6f}"])  # fmt: skip


def evaluate_model(
    model_file: str | os.PathLike[str],
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    split: str = "test",
    progress: bool = True,
    shifted: str | os.PathLike[str] | None = None,
    shifted_split: str = "all",
) -> dict[str, Any]:
    """The ISO report of the decision path (liveness.decision: network, motion agreement, face
    check, policy) on `split`, beside the network alone; any model file (.pt, .onnx, .tflite).

    The threshold and fusion are the ones stored in the file (calibrated on validation).
    `shifted`: a set generated outside the training ranges (`liveness synth --shifted`),
    reported beside the in-domain split at the same threshold: summary["shifted"], a section
    of report.md, scores_shifted.csv.
    """
    from liveness.predict import load_predictor

    predictor = load_predictor(model_file)
    cfg = predictor.config
    summary, s, scored = _score_set(predictor, data, split, progress)
    summary.update(threshold_rule=cfg.threshold_rule, fusion=cfg.fusion.to_dict(),
                   model=str(model_file), modalities=cfg.modalities(True))  # fmt: skip
    o = Path(out)
    o.mkdir(parents=True, exist_ok=True)
    _write_scores(o / "scores.csv", scored, s)
    sets = [(f"{Path(data).name} {split}", summary)]
    if shifted is not None:
        sh, s_sh, sc_sh = _score_set(predictor, shifted, shifted_split, progress)
        summary["shifted"] = sh
        _write_scores(o / "scores_shifted.csv", sc_sh, s_sh)
        sets.append((f"{Path(shifted).name} {shifted_split} (shifted)", sh))
    lv, att = scored["is_live"], scored["attack"]
    write_report(o, summary, s, lv, att, title=f"{Path(model_file).name} on {split}")
    extra = [variant_markdown(sets)]
    if shifted is not None:
        extra.append(summary_markdown(sh, f"Shifted set: {Path(shifted).name} {shifted_split}"))
    with open(o / "report.md", "a") as f:
        f.write("\n" + "\n".join(extra))
    return summary
