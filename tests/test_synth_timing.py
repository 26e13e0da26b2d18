"""Sensor timing of generated clips: the genuine clock offset and the `shifted` injection."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from liveness.config import SynthConfig
from liveness.synth import clipgen
from liveness.synth.atlas import sample_atlas
from liveness.synth.clipgen import render_clip
from liveness.synth.settings import ClipSettings, draw, intervals, settings_rng
from liveness.synth.spec import ClipSpec
from tests.test_synth_physics import angle_deg, integrate, render_spied

# Small frames; the wide training offsets (docs/CLOCK_OFFSET.md: 0 to ~17 ms in Chromium).
CFG = SynthConfig(width=48, height=64, imu_offset_ms=(0.0, 20.0))


def rotation_error(r: clipgen.Rendered, cams: list[np.ndarray], lag_ms: float) -> float:
    """Worst angle (deg) between the gyro, integrated at its stamps minus lag_ms, and the
    rotation the frames were rendered with (relative to the first frame it covers)."""
    assert r.imu is not None
    t_imu = (r.imu[:, 0] - lag_ms) / 1000.0
    t_frames = r.frame_t_ms / 1000.0
    inside = (t_frames >= t_imu[0]) & (t_frames <= t_imu[-1])
    assert inside.sum() >= 8  # shifted back, the readings still cover most of the clip
    est = integrate(t_imu, r.imu[:, 4:7], t_frames[inside])
    cam = np.stack(cams[-len(t_frames) :])[inside]
    truth = np.swapaxes(cam[:1], 1, 2) @ cam
    return float(angle_deg(np.swapaxes(est, 1, 2) @ truth).max())


def sensed_times_ms(r: clipgen.Rendered, calls: list[tuple[Any, np.ndarray]]) -> np.ndarray:
    """The path times (on the clip's clock, ms) that the IMU readings were computed at."""
    (_, t_frames_s), (_, t_imu_s) = calls[-2], calls[-1]  # the capture's frames, then IMU
    origin_ms = r.frame_t_ms[0] - 1000.0 * t_frames_s[0]  # frames are stamped when they happen
    return origin_ms + 1000.0 * t_imu_s


@pytest.mark.parametrize("seed", range(4))
def test_shifted_injection_replays_the_capture_imu_shifted(
    monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    spec = ClipSpec(index=seed, subject=0, attack="injection", variant="shifted", has_imu=True,
                    challenge=("left", "right", "up", "down")[seed])  # fmt: skip
    r, calls, cams = render_spied(monkeypatch, spec, seed, CFG)
    assert r.imu is not None
    offset, shift = r.meta["imu_offset_ms"], r.meta["imu_shift_ms"]
    assert 0.0 <= offset <= 20.0 and 100.0 <= abs(shift) <= 500.0
    # The IMU is the genuine capture's own: the path the frames were rendered along...
    assert calls[-1][0] is calls[-2][0]
    # ...read at the moments its stamps say, less the clock offset and the replay's shift.
    lag = r.imu[:, 0] - sensed_times_ms(r, calls)
    assert np.allclose(lag, offset + shift, atol=2e-3)
    # Physically: shifted back, the gyro follows the rendered camera within a degree; as sent,
    # it does not.
    assert rotation_error(r, cams, offset + shift) < 1.0
    assert rotation_error(r, cams, 0.0) > 1.0
    # The stamps still span the frames, as a genuine stream's do.
    assert r.imu[0, 0] <= r.frame_t_ms[0] and r.imu[-1, 0] >= r.frame_t_ms[-1]


def test_shifted_injection_shifts_both_ways() -> None:
    shifts = [ClipSettings.sample(CFG, settings_rng(3, i)).shift_ms for i in range(200)]
    late = sum(s > 0 for s in shifts)
    assert all(100.0 <= abs(s) <= 500.0 for s in shifts)
    assert 60 < late < 140


@pytest.mark.parametrize(
    ("attack", "variant"),
    [("none", "normal"), ("print", "rig"), ("replay", "held"), ("injection", "unrelated")],
)
def test_genuine_clock_offset(monkeypatch: pytest.MonkeyPatch, attack: str, variant: str) -> None:
    spec = ClipSpec(index=4, subject=0, attack=attack, variant=variant, has_imu=True,
                    challenge="right")  # fmt: skip
    r, calls, cams = render_spied(monkeypatch, spec, 6, CFG)
    assert r.imu is not None
    offset = r.meta["imu_offset_ms"]
    assert 0.0 <= offset <= 20.0 and "imu_shift_ms" not in r.meta
    # Sensor stamps run `offset` ms late: each reading is the path at its stamp minus offset.
    assert np.allclose(r.imu[:, 0] - sensed_times_ms(r, calls), offset, atol=2e-3)
    if attack != "injection":  # a genuine capture: undo the offset and the gyro is the camera
        assert rotation_error(r, cams, offset) < 1.0


def test_offsets_are_uniform_in_range_and_recorded_only_with_imu() -> None:
    offsets = np.array([ClipSettings.sample(CFG, settings_rng(5, i)).imu_offset_ms
                        for i in range(400)])  # fmt: skip
    assert offsets.min() >= 0.0 and offsets.max() <= 20.0
    assert offsets.min() < 1.0 and offsets.max() > 19.0 and 8.0 < offsets.mean() < 12.0
    atlas = sample_atlas(np.random.default_rng(0))
    bare = render_clip(ClipSpec(1, 0, "injection", "shifted", False, "up"), atlas, CFG, 2)
    assert bare.imu is None
    assert "imu_offset_ms" not in bare.meta and "imu_shift_ms" not in bare.meta


def test_base_config_has_no_offset() -> None:
    base = SynthConfig(width=48, height=64)
    assert {ClipSettings.sample(base, settings_rng(0, i)).imu_offset_ms for i in range(20)} == {0.0}


def test_settings_stream_is_per_clip_and_leaves_the_main_stream_alone() -> None:
    a = [ClipSettings.sample(CFG, settings_rng(9, i)) for i in range(5)]
    assert a == [ClipSettings.sample(CFG, settings_rng(9, i)) for i in range(5)]
    assert len({s.imu_offset_ms for s in a}) == 5
    # The child stream differs from the clip's main stream (seed, index).
    main = np.random.default_rng([9, 0]).random(4)
    assert not np.allclose(settings_rng(9, 0).random(4), main)


def test_draw_over_a_union_of_intervals() -> None:
    ranges = (50.0, 54.0, 74.0, 80.0)
    rng = np.random.default_rng(0)
    x = np.array([draw(rng, ranges) for _ in range(2000)])
    assert np.all(((x >= 50) & (x <= 54)) | ((x >= 74) & (x <= 80)))
    # Uniform over the total width (4 + 6 degrees): 40 % in the first interval.
    assert 0.36 < np.mean(x <= 54) < 0.44
    assert intervals(ranges) == [(50.0, 54.0), (74.0, 80.0)]
    # A plain interval is exactly the generator's original draw.
    a, b = np.random.default_rng(1), np.random.default_rng(1)
    assert [draw(a, (60.0, 70.0)) for _ in range(5)] == [b.uniform(60.0, 70.0) for _ in range(5)]


def test_config_rejects_malformed_ranges() -> None:
    with pytest.raises(ValueError, match="hfov_deg"):
        SynthConfig(hfov_deg=(50.0, 54.0, 74.0))
    with pytest.raises(ValueError, match="fps"):
        SynthConfig(fps=(25.0, 10.0))
    with pytest.raises(ValueError, match="width"):
        SynthConfig(width=None)
    with pytest.raises(ValueError, match="sizes"):
        dataclasses.replace(SynthConfig(), width=None, height=None)
