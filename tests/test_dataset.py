"""Tests of the training dataset (liveness.dataset)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from liveness.clip import Clip, read_clip, write_clip
from liveness.config import PreprocessConfig
from liveness.dataset import ATTACKS, ClipDataset, photometric_jitter, zoom_crop
from liveness.manifest import ManifestRow, write_manifest
from liveness.preprocess import preprocess_clip

CFG = PreprocessConfig(num_frames=8, image_size=16, imu_per_frame=3)
KINDS = [("live", "none", True), ("spoof", "print", False), ("spoof", "replay", True),
         ("spoof", "injection", True)]  # fmt: skip


def make_clip(seed: int, imu: bool) -> Clip:
    rng = np.random.default_rng(seed)
    n = 10 + seed
    t = 100.0 * seed + np.arange(n) * 1000.0 / 15.0
    frames = rng.integers(0, 256, (n, 24, 20, 3), dtype=np.uint8)
    ti = np.arange(t[0], t[-1] + 10.0, 10.0)
    data = np.column_stack([ti] + [np.sin(ti / 80.0 + c) + c + 1 for c in range(6)])
    return Clip(frames, t, data if imu else None, {})


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ds")
    rows = []
    for i, (label, attack, imu) in enumerate(KINDS):
        write_clip(root / "clips" / f"c{i}", make_clip(i, imu), image_format="png")
        rows.append(ManifestRow(f"clips/c{i}", label, attack, f"s{i}", "train", imu))
    write_manifest(root, rows)
    return root


def test_eval_items_are_preprocess_clip_exactly(root: Path) -> None:
    ds = ClipDataset(root, "train", CFG)
    assert len(ds) == 4 and ds.labels.tolist() == [1, 0, 0, 0]
    for i, (label, attack, imu) in enumerate(KINDS):
        item = ds[i]
        assert item["video"].shape == (8, 3, 16, 16) and item["video"].dtype == torch.float32
        assert item["imu"].shape == (8, 3, 6) and item["imu"].dtype == torch.float32
        assert item["imu_present"].item() == float(imu) and item["imu_present"].shape == ()
        assert item["label"].item() == float(label == "live")
        assert item["attack"].dtype == torch.int64 and ATTACKS[int(item["attack"])] == attack
        ref = preprocess_clip(read_clip(root / "clips" / f"c{i}"), CFG)
        video = (item["video"].permute(0, 2, 3, 1).numpy() * 255.0).round().astype(np.uint8)
        assert np.array_equal(video, ref["video"])
        assert np.array_equal(item["imu"].numpy(), ref["imu"])
        again = ds[i]
        assert all(torch.equal(item[k], again[k]) for k in item)


def test_cache_gives_identical_items(root: Path) -> None:
    cfg_crop = PreprocessConfig(num_frames=8, image_size=12, crop_scale=0.7)
    for train in (False, True):
        for cfg in (CFG, cfg_crop):
            a = ClipDataset(root, "train", cfg, train=train)
            b = ClipDataset(root, "train", cfg, train=train, cache=True)
            for i in range(len(a)):
                torch.manual_seed(i)
                x = a[i]
                torch.manual_seed(i)
                y = b[i]
                torch.manual_seed(i)
                z = b[i]  # now from the cache
                assert all(torch.equal(x[k], y[k]) and torch.equal(x[k], z[k]) for k in x)
            assert sorted(b._cached) == [0, 1, 2, 3]


def test_training_augmentation_is_seeded_and_varied(root: Path) -> None:
    ds = ClipDataset(root, "train", CFG, train=True)
    torch.manual_seed(0)
    a = [ds[0] for _ in range(12)]
    torch.manual_seed(0)
    b = [ds[0] for _ in range(12)]
    assert all(torch.equal(x["video"], y["video"]) for x, y in zip(a, b, strict=True))
    assert len({x["video"].sum().item() for x in a}) > 1  # jitter changes the clip
    ax = {np.sign(x["imu"][..., 0].sum().item()) for x in a}
    assert ax == {-1.0, 1.0}  # ax > 0 in this clip: some draws are mirrored
    assert all(x["video"].min() >= 0.0 and x["video"].max() <= 1.0 for x in a)
    assert all(x["imu_present"].item() == 1.0 for x in a)


def test_imu_dropout(root: Path) -> None:
    ds = ClipDataset(root, "train", CFG, train=True, imu_dropout=1.0)
    for i in range(len(ds)):
        item = ds[i]
        assert item["imu_present"].item() == 0.0 and not item["imu"].any()
    with pytest.raises(ValueError, match="imu_dropout"):
        ClipDataset(root, "train", CFG, imu_dropout=1.5)
    with pytest.raises(ValueError, match="face_crop"):  # test-time only: needs the face check
        ClipDataset(root, "train", dataclasses.replace(CFG, face_crop=0.5))


def test_dataloader_batches(root: Path) -> None:
    loader = DataLoader(ClipDataset(root, "train", CFG, train=True), batch_size=2)
    batch = next(iter(loader))
    assert batch["video"].shape == (2, 8, 3, 16, 16) and batch["label"].shape == (2,)


def test_splits_and_bad_manifests(root: Path, tmp_path: Path) -> None:
    assert len(ClipDataset(root, "val", CFG)) == 0
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        ClipDataset(root, "dev", CFG)
    row = ManifestRow("clips/c0", "spoof", "mask3d", "s0", "train", True)
    write_manifest(tmp_path, [row])
    with pytest.raises(ValueError, match="attack 'mask3d' is not one of"):
        ClipDataset(tmp_path, "train", CFG)
    (tmp_path / "clips").symlink_to(root / "clips")
    write_manifest(tmp_path, [ManifestRow("clips/c1", "spoof", "print", "s", "train", True)])
    with pytest.raises(ValueError, match=r"has_imu=1 but the clip lacks imu\.csv"):
        ClipDataset(tmp_path, "train", CFG)[0]


def test_skip_attacks_leaves_those_species_out(root: Path) -> None:
    full = ClipDataset(root, "train", CFG)
    kept = ClipDataset(root, "train", CFG, skip_attacks=("injection",))
    assert [r.attack for r in full.rows] == ["none", "print", "replay", "injection"]
    assert [r.attack for r in kept.rows] == ["none", "print", "replay"]
    assert kept.labels.tolist() == [1.0, 0.0, 0.0]
    assert int(kept[2]["attack"]) == ATTACKS.index("replay")
    with pytest.raises(ValueError, match="skip_attacks"):
        ClipDataset(root, "train", CFG, skip_attacks=("none",))  # live clips cannot be skipped
    with pytest.raises(ValueError, match="skip_attacks"):
        ClipDataset(root, "train", CFG, skip_attacks=("mask3d",))


def test_photometric_jitter_is_small_and_bounded() -> None:
    v = np.random.default_rng(0).random((4, 8, 8, 3), dtype=np.float32)
    out = photometric_jitter(v, np.random.default_rng(1))
    assert out.shape == v.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0 and np.abs(out - v).mean() < 0.2


def test_imu_swap_turns_live_clips_into_injections(tmp_path: Path) -> None:
    """With imu_swap=1 every live clip with IMU gets motion that did not film it."""
    from liveness.config import SynthConfig
    from liveness.synth.generate import generate_dataset

    root = tmp_path / "ds"
    generate_dataset(
        root, 12, seed=5, cfg=SynthConfig(width=48, height=64, clips_per_subject=1), progress=False
    )
    cfg = PreprocessConfig(num_frames=6, image_size=16, imu_per_frame=2)
    plain = ClipDataset(root, "train", cfg, train=False)
    swap = ClipDataset(root, "train", cfg, train=True, imu_swap=1.0)
    torch.manual_seed(0)
    n_live = 0
    for i, row in enumerate(swap.rows):
        item = swap[i]
        if row.is_live and row.has_imu:
            n_live += 1
            assert item["label"] == 0.0 and ATTACKS[int(item["attack"])] == "injection"
            assert item["imu_present"] == 1.0
            assert not torch.allclose(item["imu"], plain[i]["imu"], atol=1e-3)
        else:
            assert item["label"] == float(row.is_live)
    assert n_live > 0


def test_zoom_crop_cuts_one_region_for_every_frame() -> None:
    base = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    out = zoom_crop(np.stack([base] * 3), 0.5, 0.0, 20, np.random.default_rng(1))
    assert out.shape == (3, 20, 20, 3) and (out == out[0]).all()
    windows = [base[y : y + 20, x : x + 20] for y in range(21) for x in range(21)]
    assert any(np.array_equal(out[0], w) for w in windows)


def test_zoom_crop_sizes_and_places() -> None:
    """Crops of crop_scale·B·z, z in [1/(1 + zoom), 1 + zoom] (at most B), anywhere inside: read
    back from a square whose pixels hold their own coordinates."""
    b = 100
    y, x = np.mgrid[0:b, 0:b]
    square = np.stack([x, y, np.zeros_like(x)], -1).astype(np.uint8)[None]
    sides, centres = [], []
    rng = np.random.default_rng(2)
    for _ in range(300):
        out = zoom_crop(square, 0.8, 0.25, 32, rng)[0].astype(int)
        x0, x1 = out[..., 0].min(), out[..., 0].max()
        sides.append(x1 - x0 + 1)
        centres.append((x0 + x1) / 2)
    # 0.8·100/1.25 = 64 … 100; reading the extent back through the resize loses a pixel or so
    assert 60 <= min(sides) <= 68 and max(sides) >= b - 4
    assert min(centres) < 35 and max(centres) > 65  # off-centre both ways


def test_zoom_trains_on_varied_crops_and_leaves_evaluation_alone(root: Path) -> None:
    cfg = PreprocessConfig(num_frames=8, image_size=16, imu_per_frame=3, crop_scale=0.8)
    for cache in (False, True):
        torch.manual_seed(0)
        train = ClipDataset(root, "train", cfg, train=True, zoom=0.3, cache=cache)
        a, b = train[0]["video"], train[0]["video"]
        assert a.shape == (8, 3, 16, 16) and not torch.equal(a, b)
        plain = ClipDataset(root, "train", cfg, zoom=0.3, cache=cache)  # evaluation: no zoom
        ref = preprocess_clip(read_clip(root / "clips" / "c0"), cfg)["video"]
        got = (plain[0]["video"].permute(0, 2, 3, 1).numpy() * 255.0).round().astype(np.uint8)
        assert np.array_equal(got, ref)
    with pytest.raises(ValueError, match="zoom"):
        ClipDataset(root, "train", cfg, zoom=-0.1)


def test_camera_aug_changes_training_items_only(root: Path) -> None:
    cfg = PreprocessConfig(num_frames=8, image_size=16, imu_per_frame=3)
    ref = preprocess_clip(read_clip(root / "clips" / "c0"), cfg)["video"]
    plain = ClipDataset(root, "train", cfg, camera_aug=1.0)  # evaluation: never augmented
    got = (plain[0]["video"].permute(0, 2, 3, 1).numpy() * 255.0).round().astype(np.uint8)
    assert np.array_equal(got, ref)
    torch.manual_seed(0)
    off = ClipDataset(root, "train", cfg, train=True)[0]["video"]
    torch.manual_seed(0)
    on = ClipDataset(root, "train", cfg, train=True, camera_aug=1.0)[0]["video"]
    assert on.shape == off.shape and not torch.equal(on, off)
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="camera_aug"):
            ClipDataset(root, "train", cfg, camera_aug=bad)


def test_white_balance_comes_after_the_camera_augmentation(root: Path) -> None:
    cfg = PreprocessConfig(num_frames=8, image_size=16, imu_per_frame=3, white_balance=True)
    for cache in (False, True):
        ref = preprocess_clip(read_clip(root / "clips" / "c1"), cfg)["video"]
        plain = ClipDataset(root, "train", cfg, cache=cache)  # evaluation: preprocess_clip
        got = (plain[1]["video"].permute(0, 2, 3, 1).numpy() * 255.0).round().astype(np.uint8)
        assert np.array_equal(got, ref)
    # Training items are balanced last: whatever colour the augmentation gave them, their
    # mean colour is grey before the photometric jitter (which moves all channels alike).
    torch.manual_seed(1)
    ds = ClipDataset(root, "train", cfg, train=True, camera_aug=1.0)
    for _ in range(4):
        v = ds[1]["video"].numpy()  # (T, 3, S, S)
        means = v.mean(axis=(0, 2, 3))
        assert np.ptp(means) < 0.05 * max(float(means.mean()), 0.05)
