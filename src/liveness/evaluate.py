"""`liveness evaluate`: ISO/IEC 30107-3 report of a checkpoint on a split, at its threshold."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from liveness import metrics
from liveness.checkpoint import model_from_checkpoint
from liveness.dataset import ClipDataset
from liveness.report import write_report
from liveness.train import evaluate


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
