"""`liveness synth`: plan a dataset, render its clips in parallel, stream them to disk."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
from tqdm import tqdm

from liveness.clip import Clip, write_clip
from liveness.config import SynthConfig
from liveness.manifest import ManifestRow, write_manifest
from liveness.synth.atlas import Atlas, sample_atlas
from liveness.synth.clipgen import render_clip
from liveness.synth.presets import PRESETS, TRAINING, ranges
from liveness.synth.spec import ClipSpec
from liveness.synth.trajectory import CHALLENGES

ATTACKS = ("none", "print", "replay", "injection")
# Variants per species, with weights: the hard ones (edgeless close-ups, motion-matched replays,
# injections moving the same way or replaying the capture's own IMU shifted in time) are a
# fixed share so every split contains them.
VARIANTS: dict[str, tuple[tuple[str, float], ...]] = {
    "none": (("normal", 1.0),),
    "print": (("held", 0.35), ("stand", 0.2), ("closeup", 0.25), ("rig", 0.2)),
    "replay": (("held", 0.3), ("matched", 0.2), ("closeup", 0.2), ("rig-matched", 0.3)),
    # Shares from the configuration (SynthConfig.injection_shares); the presets' shown here.
    "injection": tuple(
        zip(
            ("unrelated", "same-direction", "rest", "shifted"),
            TRAINING.injection_shares,
            strict=True,
        )
    ),
}


def plan(n: int, seed: int, cfg: SynthConfig) -> tuple[list[ClipSpec], dict[int, str]]:
    """Decide every clip's subject, class, variant, sensors and challenge, and subject splits."""
    rng = np.random.default_rng([seed, 0xC11B])
    n_subjects = max(1, -(-n // cfg.clips_per_subject))
    specs = []
    for i in range(n):
        attack = str(rng.choice(ATTACKS, p=np.array(cfg.mix) / sum(cfg.mix)))
        names, weights = zip(*VARIANTS[attack], strict=True)
        if attack == "injection":
            # A zero share last (the base's shifted) leaves rng.choice's pick as it was with
            # three variants: the same single draw against the same cumulative shares.
            weights = cfg.injection_shares
        variant = str(rng.choice(names, p=np.array(weights) / sum(weights)))
        specs.append(
            ClipSpec(
                index=i,
                subject=i // cfg.clips_per_subject,
                attack=attack,
                variant=variant,
                has_imu=bool(rng.random() >= cfg.no_imu_rate),
                challenge=str(rng.choice(CHALLENGES)),
            )
        )
    # Subject-disjoint splits: a permutation of subjects cut at the configured fractions.
    order = rng.permutation(n_subjects)
    n_train = round(cfg.split[0] * n_subjects)
    n_val = round(cfg.split[1] * n_subjects)
    if n_subjects >= 3:  # keep every split non-empty when there are enough subjects
        n_train = min(max(n_train, 1), n_subjects - 2)
        n_val = min(max(n_val, 1), n_subjects - n_train - 1)
    split = {}
    for rank, s in enumerate(order):
        split[int(s)] = "train" if rank < n_train else "val" if rank < n_train + n_val else "test"
    return specs, split


@lru_cache(maxsize=4)
def _atlas(seed: int, subject: int) -> Atlas:
    return sample_atlas(np.random.default_rng([seed, 0x5B, subject]))


def _work(args: tuple[ClipSpec, SynthConfig, int, str]) -> int:
    spec, cfg, seed, out = args
    r = render_clip(spec, _atlas(seed, spec.subject), cfg, seed)
    clip = Clip(frames=r.frames, frame_t_ms=r.frame_t_ms, imu=r.imu, meta=r.meta)
    write_clip(Path(out) / clip_name(spec.index), clip, jpeg_quality=r.jpeg_quality, overwrite=True)
    return spec.index


def clip_name(index: int) -> str:
    return f"clips/{index:06d}"


def generate_dataset(
    out: str | os.PathLike[str],
    clips: int,
    seed: int,
    workers: int = 1,
    cfg: SynthConfig | None = None,
    progress: bool = True,
) -> list[ManifestRow]:
    """Write `clips` clips and manifest.csv under `out`. Same seed and config, same bytes.

    `cfg` defaults to the training preset. Each clip's randomness comes only from
    (seed, index), so the worker count changes nothing. Clips are written as they are
    rendered; memory stays bounded by one clip per worker.
    """
    cfg = cfg or TRAINING
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    specs, split = plan(clips, seed, cfg)
    jobs = [(s, cfg, seed, str(root)) for s in specs]
    bar = tqdm(total=len(jobs), desc="synth", unit="clip", disable=not progress)
    if workers <= 1:
        for job in jobs:
            _work(job)
            bar.update()
    else:
        # Consecutive clips share a subject: chunking by subject lets the atlas cache hit.
        # Not plain fork: a parent that has imported a multithreaded library (JAX, through the
        # exporter, in the same test process) can deadlock a forked child.
        ctx = mp.get_context("forkserver" if hasattr(os, "fork") else "spawn")
        with ctx.Pool(workers) as pool:
            for _ in pool.imap_unordered(_work, jobs, chunksize=cfg.clips_per_subject):
                bar.update()
    bar.close()
    rows = [
        ManifestRow(
            clip=clip_name(s.index),
            label="live" if s.attack == "none" else "spoof",
            attack=s.attack,
            subject=f"s{s.subject:05d}",
            split=split[s.subject],
            has_imu=s.has_imu,
            variant=s.variant,
        )
        for s in specs
    ]
    write_manifest(root / "manifest.csv", rows)
    info = {
        "seed": seed,
        "clips": clips,
        "preset": cfg.preset,
        "config": cfg.to_dict(),
        "ranges": ranges(cfg),  # what this dataset's clips were drawn from
        # Both presets' ranges, so a reader can check that the shifted one lies outside.
        "presets": {name: ranges(c) for name, c in PRESETS.items()},
    }
    (root / "synth.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    return rows
