"""Held-out clips as one batch, and how far an exported file's scores are from PyTorch's."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from liveness import metrics
from liveness.backends import Backend
from liveness.config import LivenessConfig

WORST = 5  # clips listed by name in a parity report (plus every clip whose verdict flips)


@dataclass
class Batch:
    """Preprocessed clips, stacked: what parity checks and INT8 calibration run on."""

    video: np.ndarray  # (N, T, S, S, 3) uint8
    imu: np.ndarray  # (N, T, K, 6) float32
    present: np.ndarray  # (N,) bool
    is_live: np.ndarray | None = None  # (N,) bool, when the clips are labelled
    attack: np.ndarray | None = None  # (N,) str
    source: str = "held-out clips"
    motion: list[Any] | None = None  # (N,) motion.Agreement or None per clip, when measured
    relief: list[Any] | None = None  # (N,) motion.Relief or None per clip, when measured
    names: list[str] | None = None  # (N,) each clip's path in its dataset, when read from one

    @classmethod
    def from_items(cls, items: list[dict[str, Any]], source: str = "held-out clips") -> Batch:
        """Outputs of preprocess_clip, optionally with "is_live" and "attack" added."""
        labelled = all("is_live" in x for x in items)
        return cls(
            np.stack([x["video"] for x in items]),
            np.stack([x["imu"] for x in items]).astype(np.float32),
            np.array([bool(x["imu_present"]) for x in items]),
            np.array([bool(x["is_live"]) for x in items]) if labelled else None,
            np.array([str(x.get("attack", "")) for x in items]) if labelled else None,
            source,
        )

    @classmethod
    def random(cls, cfg: LivenessConfig, n: int = 8, seed: int = 0) -> Batch:
        p = cfg.preprocess
        rng = np.random.default_rng(seed)
        shape = (n, p.num_frames, p.image_size, p.image_size, 3)
        return cls(
            rng.integers(0, 256, shape, dtype=np.uint8),
            rng.standard_normal((n, p.num_frames, p.imu_per_frame, 6)).astype(np.float32),
            np.arange(n) % 2 == 0,
            source="random tensors",
        )

    def __len__(self) -> int:
        return len(self.video)


def load_clips(
    data: str | os.PathLike[str],
    split: str,
    cfg: LivenessConfig,
    n: int,
    seed: int = 0,
    motion: bool = False,
) -> Batch:
    """`n` labelled clips of one split of a dataset ("all": every split), a seeded random
    choice, preprocessed by the one preprocessing path; with `motion`, each clip's motion
    agreement and (when the model's fusion uses it) face-flatness cue too, so verdicts can be
    compared through the decision path (the cue on the guide oval: no face detector here; both
    sides of a parity check see the same cues)."""
    from liveness.clip import read_clip
    from liveness.manifest import read_manifest
    from liveness.preprocess import preprocess_clip

    rows = [r for r in read_manifest(data) if split in ("all", r.split)]
    if not rows:
        raise ValueError(f"{data}: split {split!r} is empty")
    order = np.random.default_rng(seed).permutation(len(rows))[:n]
    from tqdm import tqdm

    from liveness.decision import clip_agreement, clip_relief

    items: list[dict[str, Any]] = []
    agreements: list[Any] = []
    reliefs: list[Any] = []
    for i in tqdm(order.tolist(), desc=f"clips ({split})", unit="clip", leave=False):
        clip = read_clip(Path(data) / rows[i].clip)
        item = preprocess_clip(clip, cfg.preprocess)
        items.append({**item, "is_live": rows[i].is_live, "attack": rows[i].attack})
        agreements.append(clip_agreement(clip, cfg) if motion else None)
        reliefs.append(clip_relief(clip, cfg, motion=agreements[-1]) if motion else None)
    batch = Batch.from_items(items, f"{split} split of {Path(data).name}")
    batch.motion = agreements if motion else None
    batch.relief = reliefs if motion else None
    batch.names = [rows[i].clip for i in order.tolist()]
    return batch


def reference_probs(model: Any, batch: Batch) -> np.ndarray:
    """The PyTorch model's probability live on a batch (the function exports must match)."""
    import torch

    from liveness.backends import sigmoid
    from liveness.preprocess import video_to_model

    out = []
    with torch.no_grad():
        for i in range(0, len(batch), 32):
            sl = slice(i, i + 32)
            v = torch.from_numpy(video_to_model(batch.video[sl]))
            p = torch.from_numpy(batch.present[sl].astype(np.float32))
            out.append(model(v, torch.from_numpy(batch.imu[sl]), p).numpy())
    return sigmoid(np.concatenate(out))


def backend_probs(backend: Backend, batch: Batch) -> np.ndarray:
    return np.concatenate(
        [
            backend(batch.video[i : i + 8], batch.imu[i : i + 8], batch.present[i : i + 8])
            for i in range(0, len(batch), 8)
        ]
    )


def verdicts(p: np.ndarray, batch: Batch, cfg: LivenessConfig) -> np.ndarray:
    """(N,) bool: the decision path's verdict (liveness.decision) for network scores p, with
    each clip's motion agreement and face-flatness cue when the batch carries them."""
    from liveness.decision import decide

    motion = batch.motion if batch.motion is not None else [None] * len(batch)
    relief = batch.relief if batch.relief is not None else [None] * len(batch)
    rows = zip(p, batch.present, motion, relief, strict=True)
    return np.array([decide(float(x), bool(h), m, cfg, r).live for x, h, m, r in rows])


def worst_clips(
    ref: np.ndarray,
    got: np.ndarray,
    live_ref: np.ndarray,
    live_got: np.ndarray,
    batch: Batch,
    k: int = WORST,
) -> list[dict[str, Any]]:
    """The `k` clips with the largest |Δp|, then any other clip whose verdict flips: name,
    both probabilities and both verdicts."""
    dp = np.abs(got - ref)
    order = np.argsort(-dp, kind="stable")
    pick = list(order[:k]) + [i for i in order[k:] if live_ref[i] != live_got[i]]
    names = batch.names if batch.names is not None else [f"#{i}" for i in range(len(batch))]
    return [{"clip": names[i], "p_torch": float(ref[i]), "p_export": float(got[i]),
             "abs_dp": float(dp[i]), "live_torch": bool(live_ref[i]),
             "live_export": bool(live_got[i])} for i in pick]  # fmt: skip


def parity(ref: np.ndarray, got: np.ndarray, batch: Batch, cfg: LivenessConfig) -> dict[str, Any]:
    """Per clip: |Δp| (max, mean, p50, p99), verdicts through the decision path (flips and
    agreement) and the worst clips by name; on labelled clips with both classes, AUC and ACER
    of each side's network score."""
    threshold = cfg.threshold
    dp = np.abs(got - ref)
    live_ref, live_got = verdicts(ref, batch, cfg), verdicts(got, batch, cfg)
    flips = live_ref != live_got
    out: dict[str, Any] = {
        "n": len(batch),
        "inputs": batch.source,
        "max_abs_dp": float(dp.max()),
        "mean_abs_dp": float(dp.mean()),
        "p50_abs_dp": float(np.percentile(dp, 50)),
        "p99_abs_dp": float(np.percentile(dp, 99)),
        "verdict_flips": int(flips.sum()),
        "verdict_agreement": float(1.0 - flips.mean()),
        "worst": worst_clips(ref, got, live_ref, live_got, batch),
    }
    lv, at = batch.is_live, batch.attack
    if lv is not None and at is not None and 0 < lv.sum() < len(lv):
        for name, s in (("torch", ref), ("export", got)):
            out[f"auc_{name}"] = metrics.auc(s, lv)
            out[f"acer_{name}"] = metrics.acer(s, lv, at, threshold)
        out["delta_auc"] = out["auc_export"] - out["auc_torch"]
        out["delta_acer"] = out["acer_export"] - out["acer_torch"]
    return out
