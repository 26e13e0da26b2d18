"""Tests of the one preprocessing path (liveness.preprocess)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from liveness.clip import Clip
from liveness.config import PreprocessConfig
from liveness.preprocess import (
    MIRROR_IMU_SIGNS,
    crop_resize,
    face_square,
    median_box,
    mirror_clip_arrays,
    normalise_accel_sign,
    preprocess_clip,
    resample_imu,
    select_frame_indices,
    video_to_model,
    white_balance,
)

CFG = PreprocessConfig(num_frames=8, image_size=16, imu_per_frame=4)


def jittered_times(n: int, fps: float, t0: float, jitter: float, seed: int) -> np.ndarray:
    """(n,) strictly increasing frame times with up to ±jitter·period of noise."""
    rng = np.random.default_rng(seed)
    period = 1000.0 / fps
    return t0 + (np.arange(n) + rng.uniform(-jitter, jitter, n)) * period


def small_clip(n: int = 20, h: int = 30, w: int = 24, imu: bool = True) -> Clip:
    rng = np.random.default_rng(1)
    t = 500.0 + np.arange(n) * 40.0
    frames = rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8)
    ti = np.arange(t[0] - 20, t[-1] + 20, 10.0)
    data = np.column_stack([ti] + [np.sin(ti / 100.0 + c) for c in range(6)]) if imu else None
    return Clip(frames, t, data, {})


def test_select_uniform_takes_every_frame_and_repeats_when_short() -> None:
    t = np.arange(8) * 50.0
    assert select_frame_indices(t, 8).tolist() == list(range(8))
    assert select_frame_indices(t, 4).tolist() == [0, 2, 5, 7]  # targets 0, 116.7, 233.3, 350
    twice = select_frame_indices(t, 15)  # every other target is a tie: the earlier frame wins
    assert twice.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7]
    assert select_frame_indices(t, 1).tolist() == [3]
    assert select_frame_indices(np.array([7.0]), 3).tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="shift"):
        select_frame_indices(t, 4, shift=0.7)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(8, 60),
    num=st.integers(1, 32),
    fps=st.floats(8.0, 30.0),
    t0=st.floats(-1e7, 1e7),
    jitter=st.floats(0.0, 0.45),
    shift=st.floats(-0.5, 0.5),
    seed=st.integers(0, 1000),
)
def test_select_property(
    n: int, num: int, fps: float, t0: float, jitter: float, shift: float, seed: int
) -> None:
    t = jittered_times(n, fps, t0, jitter, seed)
    idx = select_frame_indices(t, num, shift=shift)
    assert idx.shape == (num,) and idx.dtype == np.int64
    assert np.all(np.diff(idx) >= 0) and idx.min() >= 0 and idx.max() < n
    if num >= 2:
        full = select_frame_indices(t, num)
        assert full[0] == 0 and full[-1] == n - 1
        # Each pick is a nearest frame to its evenly spaced target.
        targets = np.linspace(t[0], t[-1], num)
        best = np.abs(t[None, :] - targets[:, None]).min(axis=1)
        assert np.allclose(np.abs(t[full] - targets), best, rtol=0, atol=1e-6)


def test_crop_resize_takes_the_central_square() -> None:
    frame = np.zeros((40, 20, 3), dtype=np.uint8)
    frame[10:30] = 200  # the central 20×20 square of a portrait frame
    out = crop_resize(frame, dataclasses.replace(CFG, image_size=10))
    assert out.shape == (10, 10, 3) and out.dtype == np.uint8 and np.all(out == 200)
    half = crop_resize(frame, dataclasses.replace(CFG, image_size=10, crop_scale=0.5))
    assert np.all(half == 200)
    same = crop_resize(frame[10:26, 2:18], CFG)  # already 16×16: returned unchanged
    assert np.array_equal(same, frame[10:26, 2:18])


@settings(max_examples=30, deadline=None)
@given(h=st.integers(1, 300), w=st.integers(1, 300), s=st.integers(4, 64), seed=st.integers())
def test_crop_resize_any_size_is_deterministic(h: int, w: int, s: int, seed: int) -> None:
    frame = np.random.default_rng(seed % 2**32).integers(0, 256, (h, w, 3), dtype=np.uint8)
    cfg = dataclasses.replace(CFG, image_size=s)
    a, b = crop_resize(frame, cfg), crop_resize(frame.copy(), cfg)
    assert a.shape == (s, s, 3) and a.dtype == np.uint8 and np.array_equal(a, b)


@settings(max_examples=60, deadline=None)
@given(
    imu_hz=st.floats(20.0, 200.0),
    fps=st.floats(8.0, 30.0),
    n=st.integers(8, 40),
    t0=st.floats(-1e6, 1e6),
    k=st.integers(1, 8),
    drop=st.floats(0.0, 0.5),
    slope=st.floats(-5.0, 5.0),
    seed=st.integers(0, 1000),
)
def test_resample_linear_signal_is_exact(
    imu_hz: float, fps: float, n: int, t0: float, k: int, drop: float, slope: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    ft = jittered_times(n, fps, t0, 0.3, seed)
    ti = np.arange(ft[0] - 30, ft[-1] + 30, 1000.0 / imu_hz)
    ti = ti[(rng.random(len(ti)) >= drop) | (np.arange(len(ti)) % (len(ti) - 1) == 0)]
    coef = np.arange(1, 7) * slope / 1000.0  # per ms, one slope per channel
    imu = np.column_stack([ti, 0.5 + (ti[:, None] - t0) * coef[None, :]])
    cfg = PreprocessConfig(num_frames=n, imu_per_frame=k, acc_scale=2.0, gyro_scale=0.5)
    out = resample_imu(imu, ft, cfg)
    assert out.shape == (n, k, 6) and out.dtype == np.float32
    dt = (ft[-1] - ft[0]) / (n - 1)
    times = ft[:, None] - (k - 1 - np.arange(k))[None, :] / k * dt  # (T, K)
    times = np.clip(times, ti[0], ti[-1])
    want = 0.5 + (times[..., None] - t0) * coef
    want[..., :3] /= 2.0
    want[..., 3:] /= 0.5
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-4)
    # The last sample of each step lands on the frame time itself.
    last = np.clip(ft, ti[0], ti[-1])
    np.testing.assert_allclose(out[:, -1, 0], (0.5 + (last - t0) * coef[0]) / 2.0, atol=1e-4)


def test_resample_clamps_and_averages_repeats() -> None:
    imu = np.array([[0, 1, 0, 0, 0, 0, 0], [10, 3, 0, 0, 0, 0, 0], [10, 5, 0, 0, 0, 0, 0],
                    [20, 2, 0, 0, 0, 0, 0]], dtype=np.float64)  # fmt: skip
    cfg = PreprocessConfig(imu_per_frame=2, acc_scale=1.0)
    out = resample_imu(imu, np.array([-100.0, 10.0, 120.0]), cfg)
    # dt = 110: samples at -155, -100 | -45, 10 | 65, 120; the two t=10 rows average to 4.
    assert out[:, :, 0].tolist() == [[1.0, 1.0], [1.0, 4.0], [2.0, 2.0]]


def test_preprocess_clip_shapes_with_and_without_imu() -> None:
    for imu in (True, False):
        out = preprocess_clip(small_clip(imu=imu), CFG)
        assert out["video"].shape == (8, 16, 16, 3) and out["video"].dtype == np.uint8
        assert out["imu"].shape == (8, 4, 6) and out["imu"].dtype == np.float32
        assert out["imu_present"] is imu
        assert out["frame_t_ms"].shape == (8,) and out["frame_t_ms"][0] == 500.0
        assert out["frame_t_ms"][-1] == 500.0 + 19 * 40.0
        assert imu or not out["imu"].any()
    a, b = preprocess_clip(small_clip(), CFG), preprocess_clip(small_clip(), CFG)
    assert all(np.array_equal(a[key], b[key]) for key in a)
    c = small_clip()
    expect = crop_resize(c.frames[out["frame_indices"][3]], CFG)
    assert np.array_equal(preprocess_clip(c, CFG)["video"][3], expect)


@settings(max_examples=20, deadline=None)
@given(h=st.integers(8, 120), w=st.integers(8, 120), n=st.integers(8, 30))
def test_preprocess_clip_any_frame_size(h: int, w: int, n: int) -> None:
    out = preprocess_clip(small_clip(n=n, h=h, w=w), CFG)
    assert out["video"].shape == (8, 16, 16, 3) and out["imu"].shape == (8, 4, 6)


def test_mirror_reflects_image_and_imu() -> None:
    rng = np.random.default_rng(0)
    video = rng.integers(0, 256, (3, 5, 4, 3), dtype=np.uint8)
    imu = rng.normal(size=(3, 2, 6)).astype(np.float32)
    v2, i2 = mirror_clip_arrays(video, imu)
    assert np.array_equal(v2[:, :, 0], video[:, :, -1]) and i2.dtype == np.float32
    assert np.array_equal(i2, imu * np.array([-1, 1, 1, 1, -1, -1], dtype=np.float32))
    assert MIRROR_IMU_SIGNS.tolist() == [-1, 1, 1, 1, -1, -1]
    v3, i3 = mirror_clip_arrays(v2, i2)
    assert np.array_equal(v3, video) and np.array_equal(i3, imu)


def test_video_to_model_layout_and_scale() -> None:
    rng = np.random.default_rng(2)
    video = rng.integers(0, 256, (2, 3, 5, 4, 3), dtype=np.uint8)  # (N, T, H, W, C)
    x = video_to_model(video)
    assert x.shape == (2, 3, 3, 5, 4) and x.dtype == np.float32  # (N, T, C, H, W)
    np.testing.assert_array_equal(x[1, 2, 0], video[1, 2, :, :, 0].astype(np.float32) / 255.0)
    assert x.min() >= 0.0 and x.max() <= 1.0
    px = video_to_model(np.array([[[[0, 255, 51]]]], dtype=np.uint8)).ravel()
    assert px.tolist() == [0.0, 1.0, np.float32(0.2)]
    # A single clip (T, H, W, C) works too, and channels_last keeps the frames' layout.
    np.testing.assert_array_equal(video_to_model(video[0]), x[0])
    np.testing.assert_array_equal(video_to_model(video, channels_last=True), np.moveaxis(x, 2, -1))
    # Same values and strides as torch's permute, which the runtimes fed before.
    ref = torch.from_numpy(video).permute(0, 1, 4, 2, 3).float() / 255.0
    got = torch.from_numpy(x)
    assert torch.equal(got, ref) and got.stride() == ref.stride()


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_accelerometer_sign_normalised_from_gravity(sign: float) -> None:
    """Upright selfie: gravity reads +y in the contract; a client reporting −y is flipped."""
    t = np.arange(0.0, 2000.0, 10.0)
    acc = np.tile([0.3, 9.7, 1.2], (len(t), 1)) * sign
    gyro = np.tile([0.1, -0.2, 0.05], (len(t), 1))
    imu = np.column_stack([t, acc, gyro])
    out, flipped = normalise_accel_sign(imu)
    assert flipped == (sign < 0)
    assert np.allclose(out[:, 1:4], np.abs(acc) * np.sign([0.3, 9.7, 1.2]))
    assert np.array_equal(out[:, 4:], imu[:, 4:])  # the gyro is never touched


def test_phone_lying_face_up_is_not_flipped() -> None:
    t = np.arange(0.0, 1000.0, 10.0)
    imu = np.column_stack([t, np.tile([0.0, -1.0, 9.8], (len(t), 1)), np.zeros((len(t), 3))])
    assert normalise_accel_sign(imu)[1] is False


def scene(seed: int = 3) -> np.ndarray:
    """(4, 12, 12, 3) uint8: random colours in 40..180 (no channel saturates under the casts
    below), a neutral scene on average."""
    rng = np.random.default_rng(seed)
    return rng.integers(40, 180, (4, 12, 12, 3)).astype(np.uint8)


def test_white_balance_removes_a_cast_and_keeps_relative_colour() -> None:
    base = scene()
    cast = np.clip(base * np.array([1.3, 1.0, 0.75]), 0, 255).astype(np.uint8)  # warm light
    cool = np.clip(base * np.array([0.8, 1.0, 1.25]), 0, 255).astype(np.uint8)  # cool light
    a, b = white_balance(cast), white_balance(cool)
    for v in (a, b):
        assert v.shape == base.shape and v.dtype == np.uint8
        means = v.reshape(-1, 3).mean(axis=0)
        assert np.ptp(means) < 1.5  # grey on average, to rounding
    # The two lights give the same picture after balancing, up to brightness (each keeps its
    # own luma) and rounding ...
    a_f, b_f = a.astype(float), b.astype(float)
    assert np.abs(a_f - b_f * a_f.mean() / b_f.mean()).mean() < 1.5
    assert np.abs(cast.astype(float) - cool.astype(float)).mean() > 15.0  # ... unlike before
    # ... and a pixel that is redder than the rest stays redder.
    red = base.copy()
    red[:, :3, :3] = (200, 60, 60)
    out = white_balance(red)
    assert (out[:, :3, :3, 0] > out[:, :3, :3, 2] + 80).all()
    # Gains are the same for every frame: a frame's change over time is kept.
    flicker = cast.copy()
    flicker[2] = (flicker[2] * 0.8).astype(np.uint8)
    g = white_balance(flicker).astype(float)
    assert g[2].mean() < 0.85 * g[1].mean()


def test_white_balance_limits_and_input_checks() -> None:
    green = np.zeros((2, 8, 8, 3), np.uint8)
    green[..., 1] = 200
    green[..., 0] = 20
    green[..., 2] = 20
    out = white_balance(green).reshape(-1, 3)[0]
    assert out[0] <= 40 + 1 and out[1] >= 100  # gains clamped to 2x either way: not grey
    blown = np.full((2, 8, 8, 3), 255, np.uint8)
    assert white_balance(blown) is blown  # nothing below saturation to measure
    with pytest.raises(ValueError, match="uint8"):
        white_balance(green.astype(np.float32))
    with pytest.raises(ValueError, match="uint8"):
        white_balance(green[0])


def test_preprocess_clip_white_balance_only_when_configured() -> None:
    c = small_clip()
    c = dataclasses.replace(c, frames=(c.frames * np.array([1.0, 0.8, 0.5])).astype(np.uint8))
    plain = preprocess_clip(c, CFG)["video"]
    balanced = preprocess_clip(c, dataclasses.replace(CFG, white_balance=True))["video"]
    assert np.array_equal(balanced, white_balance(plain))
    assert np.ptp(balanced.reshape(-1, 3).mean(axis=0)) < 2.0
    assert np.ptp(plain.reshape(-1, 3).mean(axis=0)) > 20.0
    assert PreprocessConfig.from_dict({"num_frames": 8}).white_balance is False  # old configs


def test_face_square_brings_a_small_face_to_the_calibration_size() -> None:
    """face_crop F: the cut's side is (box width / F)·min(W, H), clipped to 0.4–1.0 of it,
    centred on the face and moved inside the frame; a face of width F·min(W, H) keeps the
    central square's scale; no box or F = 0: the central square (None)."""
    cfg = dataclasses.replace(CFG, face_crop=0.5)
    h, w = 320, 240
    assert face_square((60, 100, 180, 220), h, w, cfg) == (40, 0, 240)  # a typical face
    top, left, side = face_square((100, 150, 140, 190), h, w, cfg)  # a third of that size
    assert side == 96 and (left + side / 2, top + side / 2) == (120, 170)
    assert face_square((119, 159, 121, 161), h, w, cfg)[2] == 96  # a dot: no more than 0.4
    assert face_square((0, 0, 40, 40), h, w, cfg)[:2] == (0, 0)  # at the corner: inside
    assert face_square((100, 150, 140, 190), h, w, CFG) is None
    assert face_square(None, h, w, cfg) is None
    assert median_box([(0, 0, 10, 10), (2, 2, 12, 12), (100, 0, 110, 10)]) == (2, 0, 12, 10)
    assert median_box([]) is None


def test_preprocess_clip_cuts_about_the_face_only_when_asked() -> None:
    clip = small_clip(h=40, w=30)
    cfg = dataclasses.replace(CFG, face_crop=0.5)
    box = (5.0, 20.0, 11.0, 26.0)  # 6 px wide: the cut is 12 px about (8, 23)
    got = preprocess_clip(clip, cfg, face_box=box)["video"]
    top, left, side = face_square(box, 40, 30, cfg)
    assert (top, left, side) == (17, 2, 12)
    idx = preprocess_clip(clip, cfg, face_box=box)["frame_indices"]
    assert np.array_equal(got[0], crop_resize(clip.frames[idx[0]][17:29, 2:14], cfg))
    central = preprocess_clip(clip, CFG, face_box=box)["video"]  # face_crop 0: ignored
    assert np.array_equal(central, preprocess_clip(clip, CFG)["video"])
    assert not np.array_equal(central, got)
