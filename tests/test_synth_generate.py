"""Tests of dataset generation (liveness.synth.generate): validity, splits, determinism."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from liveness.clip import read_clip
from liveness.config import SynthConfig
from liveness.manifest import read_manifest
from liveness.synth.generate import ATTACKS, VARIANTS, generate_dataset, plan

CFG = SynthConfig(width=48, height=64, clips_per_subject=2)
N, SEED = 12, 11


def digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "ds"
    rows = generate_dataset(root, N, SEED, workers=1, cfg=CFG, progress=False)
    assert len(rows) == N
    return root


def test_layout_and_manifest(dataset: Path) -> None:
    rows = read_manifest(dataset)
    assert [r.clip for r in rows] == [f"clips/{i:06d}" for i in range(N)]
    clip_dirs = sorted(p.name for p in (dataset / "clips").iterdir())
    assert clip_dirs == [f"{i:06d}" for i in range(N)]  # no temporary leftovers
    info = json.loads((dataset / "synth.json").read_text())
    assert info["seed"] == SEED and info["clips"] == N
    assert info["config"]["width"] == 48 and info["config"]["height"] == 64


def test_every_clip_is_valid_and_matches_manifest(dataset: Path) -> None:
    for row in read_manifest(dataset):
        clip = read_clip(dataset / row.clip)  # validates against the contract
        assert clip.frames.shape[1:] == (64, 48, 3)
        assert clip.num_frames >= 8
        assert clip.has_imu == row.has_imu
        assert (dataset / row.clip / "imu.csv").exists() == row.has_imu
        m = clip.meta
        assert (m["label"], m["attack"], m["subject"]) == (row.label, row.attack, row.subject)
        assert m["variant"] == row.variant
        assert m["label"] == ("live" if m["attack"] == "none" else "spoof")
        assert row.variant in dict(VARIANTS[row.attack])
        assert m["seed"] == SEED and m["index"] == int(row.clip.rsplit("/", 1)[1])


def test_rates_and_imu_coverage(dataset: Path) -> None:
    n_imu = 0
    for row in read_manifest(dataset):
        clip = read_clip(dataset / row.clip)
        t = clip.frame_t_ms
        assert np.all(np.diff(t) > 0)
        fps = 1000.0 / np.median(np.diff(t))
        assert 9.5 <= fps <= 31.0, (row.clip, fps)
        assert 1700.0 <= t[-1] - t[0] <= 2500.0  # about 2 s
        if clip.imu is None:
            continue
        n_imu += 1
        ti = clip.imu[:, 0]
        assert np.all(np.diff(ti) > 0)
        hz = 1000.0 / np.median(np.diff(ti))
        assert 48.0 <= hz <= 103.0, (row.clip, hz)
        assert ti[0] <= t[0] and ti[-1] >= t[-1]
        # Gravity is always there: the mean |a| is close to g whatever the pose.
        assert 9.0 < np.linalg.norm(clip.imu[:, 1:4], axis=1).mean() < 10.6
    assert n_imu > 0


def test_splits_are_subject_disjoint(dataset: Path) -> None:
    rows = read_manifest(dataset)
    split_of: dict[str, set[str]] = {}
    for r in rows:
        split_of.setdefault(r.subject, set()).add(r.split)
    assert all(len(s) == 1 for s in split_of.values())
    assert len(split_of) == N // CFG.clips_per_subject
    assert {r.split for r in rows} == {"train", "val", "test"}
    assert Counter(r.subject for r in rows) == {s: 2 for s in split_of}


def test_same_seed_same_bytes_any_worker_count(dataset: Path, tmp_path: Path) -> None:
    generate_dataset(tmp_path / "w2", N, SEED, workers=2, cfg=CFG, progress=False)
    a, b = digests(dataset), digests(tmp_path / "w2")
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []


def test_different_seed_differs(tmp_path: Path) -> None:
    cfg = SynthConfig(width=48, height=64, clips_per_subject=2)
    generate_dataset(tmp_path / "a", 2, 1, cfg=cfg, progress=False)
    generate_dataset(tmp_path / "b", 2, 2, cfg=cfg, progress=False)
    a, b = digests(tmp_path / "a"), digests(tmp_path / "b")
    frames = [k for k in a if k.startswith("clips/") and k.endswith(".jpg") and k in b]
    assert frames
    assert all(a[k] != b[k] for k in frames if k.endswith("/00000.jpg"))
    assert sum(a[k] != b[k] for k in frames) > 0.9 * len(frames)


def test_plan_is_deterministic_and_covers_classes() -> None:
    cfg = SynthConfig()
    specs, split = plan(400, 3, cfg)
    again, split2 = plan(400, 3, cfg)
    assert specs == again and split == split2
    assert [s.index for s in specs] == list(range(400))
    attacks = Counter(s.attack for s in specs)
    assert set(attacks) == set(ATTACKS)
    # Class mix roughly as configured (0.4 live, 0.2 each attack), binomial slack.
    assert 0.3 < attacks["none"] / 400 < 0.5
    for a in ("print", "replay", "injection"):
        assert 0.12 < attacks[a] / 400 < 0.28
    no_imu = [s for s in specs if not s.has_imu]
    assert 0.07 < len(no_imu) / 400 < 0.25
    assert {s.attack for s in no_imu} == set(ATTACKS)  # every class also without sensors
    assert {s.challenge for s in specs} == {"left", "right", "up", "down"}
    for s in specs:
        assert s.variant in dict(VARIANTS[s.attack])
        assert s.subject == s.index // cfg.clips_per_subject
    assert set(split) == set(range(100)) and set(split.values()) == {"train", "val", "test"}
    counts = Counter(split.values())
    assert 60 <= counts["train"] <= 80 and counts["val"] >= 10 and counts["test"] >= 10
    assert plan(400, 4, cfg)[0] != specs


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_plan_small_n(n: int) -> None:
    specs, split = plan(n, 0, CFG)
    assert len(specs) == n
    assert set(split) == {s.subject for s in specs}
    if len(split) >= 3:
        assert set(split.values()) == {"train", "val", "test"}


def test_every_injection_variant_has_its_share() -> None:
    from liveness.synth.presets import TRAINING

    specs, _ = plan(800, 5, TRAINING)
    inj = Counter(s.variant for s in specs if s.attack == "injection")
    n = sum(inj.values())
    assert set(inj) == {"unrelated", "same-direction", "rest", "shifted"}
    for name, share in VARIANTS["injection"]:
        assert abs(inj[name] / n - share) < 0.1, (name, inj[name] / n)
    # The base configuration has no shifted injection, and otherwise the same plan.
    base, _ = plan(800, 5, SynthConfig())
    assert "shifted" not in {s.variant for s in base}
    assert [s.attack for s in base] == [s.attack for s in specs]


def test_manifest_and_meta_carry_the_shifted_variant(tmp_path: Path) -> None:
    cfg = SynthConfig(
        width=32, height=40, mix=(0.0, 0.0, 0.0, 1.0), no_imu_rate=0.0,
        injection_shares=(0.0, 0.0, 0.0, 1.0),
    )  # fmt: skip
    generate_dataset(tmp_path, 3, 2, cfg=cfg, progress=False)
    rows = read_manifest(tmp_path)
    assert [r.variant for r in rows] == ["shifted"] * 3
    for r in rows:
        meta = read_clip(tmp_path / r.clip).meta
        assert meta["variant"] == "shifted" and 100.0 <= abs(meta["imu_shift_ms"]) <= 500.0
