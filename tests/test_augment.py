"""Camera-pipeline augmentation: each change does what it says, once per clip, and p = 0 is off."""

from __future__ import annotations

import numpy as np
import pytest

from liveness.augment import camera_pipeline, recolour, recompress, soften


def _checker_video(frames: int = 3, side: int = 96, cell: int = 2) -> np.ndarray:
    """(T, S, S, 3) uint8: a fine black-and-white checkerboard with a colour ramp on top."""
    yy, xx = np.mgrid[:side, :side]
    board = ((yy // cell + xx // cell) % 2).astype(np.float32)
    rgb = np.stack([board * 200 + 20, board * 150 + xx, board * 100 + yy], -1)
    return np.repeat(np.clip(rgb, 0, 255).astype(np.uint8)[None], frames, 0)


def _detail(video: np.ndarray) -> float:
    """Mean absolute difference between horizontal neighbours: fine detail."""
    v = video.astype(np.float32)
    return float(np.abs(np.diff(v, axis=2)).mean())


def test_soften_removes_detail_and_keeps_the_layout() -> None:
    v = _checker_video()
    assert soften(v, 1.0) is v
    soft = soften(v, 0.35)
    assert soft.shape == v.shape and soft.dtype == np.uint8
    # A 2-px checkerboard cannot survive a third of the resolution; its mean colour does.
    assert _detail(soft) < 0.2 * _detail(v)
    assert np.abs(soft.mean((0, 1, 2)) - v.mean((0, 1, 2))).max() < 8


def test_recompress_loses_more_at_lower_quality() -> None:
    v = np.repeat(_checker_video(cell=3)[..., :1], 3, -1)  # grey: chroma subsampling aside
    err = {q: np.abs(recompress(v, q).astype(int) - v).mean() for q in (20, 95)}
    assert recompress(v, 20).shape == v.shape
    assert err[20] > 2 * err[95] > 0


def test_recolour_identity_grey_and_gains() -> None:
    v = _checker_video()
    same = recolour(v, np.ones(3), 1.0, 1.0)
    assert np.abs(same.astype(int) - v).max() <= 1
    grey = recolour(v, np.ones(3), 0.0, 1.0).astype(int)
    assert (
        np.abs(grey[..., 0] - grey[..., 1]).max() <= 1
        and np.abs(grey[..., 1] - grey[..., 2]).max() <= 1
    )
    warm = recolour(v, np.array([1.2, 1.0, 0.8]), 1.0, 1.0).astype(float)
    assert warm[..., 0].mean() > v[..., 0].mean() and warm[..., 2].mean() < v[..., 2].mean()
    dark = recolour(v, np.ones(3), 1.0, 1.6)
    assert dark.mean() < v.mean()  # an exponent above 1 darkens the mid-tones


def test_pipeline_off_deterministic_and_one_draw_per_clip() -> None:
    v = _checker_video(frames=4)
    assert camera_pipeline(v, np.random.default_rng(0), 0.0) is v
    a = camera_pipeline(v, np.random.default_rng(3), 1.0)
    b = camera_pipeline(v, np.random.default_rng(3), 1.0)
    assert np.array_equal(a, b)  # the same draws, the same bytes
    assert not np.array_equal(a, v)  # p = 1: every change applied
    # Identical frames stay identical: one strength per clip, not per frame.
    assert all(np.array_equal(a[0], f) for f in a[1:])


@pytest.mark.parametrize("seed", range(4))
def test_pipeline_keeps_shape_and_type(seed: int) -> None:
    v = _checker_video()
    out = camera_pipeline(v, np.random.default_rng(seed), 0.5)
    assert out.shape == v.shape and out.dtype == np.uint8


def test_levels_stretch_like_limited_range_read_as_full() -> None:
    v = _checker_video()
    lo, hi = 16 / 255, 235 / 255
    out = recolour(v, np.ones(3), 1.0, 1.0, (lo, hi)).astype(float)
    expect = np.clip((v.astype(float) - 16.0) * 255.0 / 219.0, 0, 255)
    assert np.abs(out - expect).max() <= 1.0
    flat = recolour(v, np.ones(3), 1.0, 1.0, (-0.1, 1.1)).astype(float)
    assert flat.std() < 0.9 * v.std()  # black and white points moved out: less contrast


def test_levels_zero_keeps_the_random_stream() -> None:
    # A recipe without levels gets the same bytes as before the option existed; with them
    # the recolouring draws two more numbers and the clip differs.
    from liveness import augment as aug

    v = _checker_video(frames=4)
    for seed in range(6):
        r = np.random.default_rng(seed)  # the draws the pipeline made before levels existed
        r.random()
        x = soften(v, float(np.exp(r.uniform(np.log(aug.SOFT_SCALE[0]), 0.0))))
        r.random()
        gains = r.uniform(1 - aug.CHANNEL_GAIN, 1 + aug.CHANNEL_GAIN, 3)
        sat = float(r.uniform(*aug.SATURATION))
        x = recolour(x, gains, sat, float(np.exp(r.uniform(-aug.GAMMA, aug.GAMMA))))
        r.random()
        x = recompress(x, int(r.integers(aug.JPEG_QUALITY[0], aug.JPEG_QUALITY[1] + 1)))
        assert np.array_equal(x, camera_pipeline(v, np.random.default_rng(seed), 1.0, 0.0))
    a = camera_pipeline(v, np.random.default_rng(1), 1.0)
    b = camera_pipeline(v, np.random.default_rng(1), 1.0, levels=0.08)
    assert a.shape == b.shape and not np.array_equal(a, b)
