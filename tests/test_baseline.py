"""Tests of the physics baseline (liveness.baseline): AUC and gyro/video agreement features."""

from __future__ import annotations

import math

import numpy as np
import pytest

from liveness.baseline import auc, clip_features
from liveness.clip import Clip
from liveness.config import GRAVITY
from liveness.flow import focal_for


def test_auc_perfect_and_reversed() -> None:
    assert auc(np.array([3.0, 4.0, 5.0]), np.array([0.0, 1.0, 2.0])) == 1.0
    assert auc(np.array([0.0, 1.0]), np.array([2.0, 3.0, 4.0])) == 0.0


def test_auc_all_ties_is_half() -> None:
    assert auc(np.array([1.0, 1.0]), np.array([1.0, 1.0, 1.0])) == 0.5


def test_auc_mixed_by_hand() -> None:
    # Pairs won by each positive: 0.8 beats both, 0.4 beats 0.3 only, 0.6 beats both: 5 of 6.
    assert math.isclose(auc(np.array([0.8, 0.4, 0.6]), np.array([0.5, 0.3])), 5 / 6)
    # With a tie counted half: (0.5 vs 0.5) ½ + 1 + 1 + 1 = 3.5 of 4.
    assert math.isclose(auc(np.array([0.5, 0.9]), np.array([0.5, 0.1])), 0.875)
    # Order of the inputs does not matter; swapping classes gives 1 − AUC.
    assert math.isclose(auc(np.array([0.6, 0.8, 0.4]), np.array([0.3, 0.5])), 5 / 6)
    assert math.isclose(auc(np.array([0.5, 0.3]), np.array([0.8, 0.4, 0.6])), 1 / 6)


def test_auc_empty_is_nan() -> None:
    assert math.isnan(auc(np.array([]), np.array([1.0])))
    assert math.isnan(auc(np.array([1.0]), np.array([])))


W, H = 96, 128  # full-resolution frames; clip_features works on 2× downsampled gray
FPS, N = 15.0, 14


def smooth_texture(h: int, w: int, seed: int, sigma: float = 3.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ky, kx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    lp = np.exp(-2 * (np.pi * sigma) ** 2 * (kx**2 + ky**2))
    img = np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal((h, w))) * lp))
    return (img - img.min()) / (img.max() - img.min())


def shifted(img: np.ndarray, du: float, dv: float) -> np.ndarray:
    h, w = img.shape
    ky, kx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    return np.real(np.fft.ifft2(np.fft.fft2(img) * np.exp(-2j * np.pi * (kx * du + ky * dv))))


def rotating_clip(rate: np.ndarray, gyro: np.ndarray | None, seed: int = 0) -> Clip:
    """Frames of a distant textured scene seen by a camera turning at `rate` (device rad/s):
    a turn about +y moves the image right by f·ω_y·t, about +x up by f·ω_x·t. The IMU reads
    `gyro` (None: no IMU)."""
    tex = smooth_texture(H, W, seed)
    f = focal_for(W)
    t_ms = 1000.0 + np.arange(N) * 1000.0 / FPS
    frames = []
    for t in (t_ms - t_ms[0]) / 1000.0:
        img = shifted(tex, f * rate[1] * t, -f * rate[0] * t)
        g = np.clip(30 + 195 * img, 0, 255).round().astype(np.uint8)
        frames.append(np.repeat(g[..., None], 3, axis=-1))
    imu = None
    if gyro is not None:
        ti = np.arange(t_ms[0] - 50.0, t_ms[-1] + 50.0, 10.0)
        acc = np.tile([0.0, GRAVITY, 0.0], (len(ti), 1))
        imu = np.column_stack([ti, acc, np.tile(gyro, (len(ti), 1))])
    return Clip(np.stack(frames), t_ms, imu, {})


@pytest.mark.parametrize("rate", [np.array([0.0, 0.3, 0.0]), np.array([-0.25, 0.0, 0.0])])
def test_gyro_global_separates_matching_from_missing_motion(rate: np.ndarray) -> None:
    matching = clip_features(rotating_clip(rate, rate))
    still = clip_features(rotating_clip(rate, np.zeros(3)))
    opposite = clip_features(rotating_clip(rate, -rate))
    # 0 = agree, 1 = unrelated (nothing predicted), 2 = exactly opposite.
    assert matching["gyro_global"] < 0.1
    assert 0.8 < still["gyro_global"] < 1.2
    assert opposite["gyro_global"] > 1.6
    assert matching["gyro_best"] < 0.1 and still["gyro_best"] > 0.8


def test_no_imu_gives_nan_gyro_features() -> None:
    feats = clip_features(rotating_clip(np.array([0.0, 0.3, 0.0]), None))
    assert math.isnan(feats["gyro_global"]) and math.isnan(feats["gyro_best"])
    assert math.isfinite(feats["planarity"])
    assert set(feats) == {"gyro_global", "gyro_best", "planarity"}
