"""Physics of the moving-scene check (liveness.motion.rigid) on the camera rig (tests/rig.py)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from liveness.config import MotionConfig
from liveness.motion import agreement
from liveness.motion.rigid import scene_misfit
from tests.rig import HFOV, capture, screen_capture

CFG = MotionConfig(scene=True)  # the tracker's noise floor on (scene_noise_px)
RAW = dataclasses.replace(CFG, scene_noise_px=0.0)  # without it


@pytest.mark.parametrize("seed", [20, 21, 22])
def test_a_still_scene_is_explained_by_the_phones_own_motion(seed: int) -> None:
    """Every genuine move of the rig leaves the scene's best-explained quarter under 0.25 of the
    turn's motion: a turn in place, arcs about a point 30 cm away before planes at 0.22–1 m (a
    print at arm's length is a still scene too: the flatness gates' job, not this one), a
    stabilised video against the raw gyro, 10 fps, and a focal-length prior 13–15° off."""
    runs = [capture(seed), capture(seed, stabilise=True), capture(seed, fps=10, arc_m=0.3,
            plane_m=0.5)] + [capture(seed, arc_m=0.3, plane_m=d) for d in (0.22, 1.0)]  # fmt: skip
    for frames, ft, imu in runs:
        a, _ = agreement(frames, ft, imu, RAW, hfov_deg=HFOV)
        assert a.status == "agrees" and a.scene_misfit < 0.25, a.to_dict()
        # What is left is the tracker's noise: the floor takes it to about nothing.
        assert agreement(frames, ft, imu, CFG, hfov_deg=HFOV)[0].scene_misfit < 0.05
    frames, ft, imu = runs[2]
    for hfov in (52.0, 80.0):  # the prior's range: the turn's gain is fitted within it
        a, _ = agreement(frames, ft, imu, RAW, hfov_deg=hfov)
        assert a.scene_misfit < 0.25, (hfov, a.scene_misfit)


@pytest.mark.parametrize("seed", [0, 7])
def test_a_stabilised_look_is_judged_against_the_turn_it_shows(seed: int) -> None:
    """A stabiliser that leaves only the slow turn in the image (σ 250 ms): the check keeps the
    look against the gyro smoothed alike ("stabilised"), and the scene is measured against that
    same smoothed turn, not the raw one, whose tremor the image never showed (0.58–0.62
    against the raw turn)."""
    frames, ft, imu = capture(seed, stabilise=True, stabilise_ms=250.0)
    a, _ = agreement(frames, ft, imu, RAW, hfov_deg=HFOV)
    assert "stabilised" in a.findings and a.scene_misfit < 0.55, a.to_dict()


@pytest.mark.parametrize("seed", [20, 21, 22, 23, 24])
def test_a_screen_replaying_a_recording_moves_by_itself(seed: int) -> None:
    """A screen filling the view 0.3 or 0.4 m away replays a recording whose camera turned by
    itself (another hand-held move): the phone's turn and translation explain none of its
    corners at any depth, so the best-explained quarter moves by more than 0.3 of the turn's
    motion (the genuine rig stays under 0.25, above), however the check otherwise rates the
    capture; with the tracker's noise taken out, more than 0.15 (the genuine rig: under 0.05)."""
    for screen_m in (0.3, 0.4):
        frames, ft, imu = screen_capture(seed, seed + 50, screen_m=screen_m)
        a, _ = agreement(frames, ft, imu, RAW, hfov_deg=HFOV)
        assert a.scene_misfit > 0.3, (screen_m, a.to_dict())
        assert agreement(frames, ft, imu, CFG, hfov_deg=HFOV)[0].scene_misfit > 0.15


def test_unmeasured_rather_than_noise() -> None:
    """Off by default (the bundled calibration turns it on); NaN where nothing can be said: the
    phone did not turn, or a VideoMotion without its track numbers."""
    frames, ft, imu = capture(20)
    a, vm = agreement(frames, ft, imu, MotionConfig(), hfov_deg=HFOV)
    assert np.isnan(a.scene_misfit) and a.to_dict()["scene_misfit"] is None
    k = len(vm.t0_ms)
    use = np.ones(k, bool)
    rest = scene_misfit(vm, np.zeros((k, 3)), np.zeros((k, 3)), use, CFG)
    assert np.isnan(rest)
    turn = np.tile([0.0, 0.02, 0.0], (k, 1))
    assert np.isfinite(scene_misfit(vm, turn, np.zeros((k, 3)), use, CFG))
    bare = dataclasses.replace(vm, track_ids=[])
    assert np.isnan(scene_misfit(bare, turn, np.zeros((k, 3)), use, CFG))
    assert np.isnan(scene_misfit(vm, turn, np.zeros((k, 3)), np.zeros(k, bool), CFG))


def _tracked(flow_extra: np.ndarray, noise_px: float, seed: int = 0) -> tuple:
    """A VideoMotion of 48 corners followed over 12 intervals while the phone turns 0.6° per
    interval about y (no translation): their flow is the turn's (rotation_jacobian) plus
    flow_extra (2,) px per interval and Gaussian noise of noise_px per axis. Returns it with
    the turn (K, 3), a zero displacement and every interval in use."""
    from liveness.motion.video import VideoMotion, focal_px, rotation_jacobian

    rng = np.random.default_rng(seed)
    w, h, k = 120, 160, 12
    f = focal_px(w, HFOV)
    u, v = np.meshgrid(np.linspace(10, w - 10, 6), np.linspace(10, h - 10, 8))
    pts = np.column_stack([u.ravel(), v.ravel()])  # (48, 2)
    turn = np.tile([0.0, np.radians(0.6), 0.0], (k, 1))
    tracks = []
    for i in range(k):
        flow = rotation_jacobian(pts[:, 0] + 0.5, pts[:, 1] + 0.5, w, h, f) @ turn[i]
        b = pts + flow + flow_extra + rng.normal(0.0, noise_px, pts.shape)
        tracks.append((pts.copy(), b))
    t = np.arange(k + 1) * 66.7
    z = np.zeros(k)
    vm = VideoMotion(t[:-1], t[1:], turn, z + 1, turn, z, f, (w, h), (60.0, 80.0, 1.0, 1.0),
                     tracks, [np.arange(len(pts))] * k)  # fmt: skip
    return vm, turn, np.zeros((k, 3)), np.ones(k, bool)


def test_the_trackers_noise_is_not_the_scene_moving() -> None:
    """scene_noise_px takes the tracker's noise out of each corner's left-over motion: a still
    scene tracked with 0.35 px of noise per axis reads about a third of the turn's motion (1 px
    per interval here) without the floor and ~0 with it, while a scene drifting by itself by
    1.5 px per interval (a screen's recording) keeps over 90 % of its misfit."""
    raw, floored = MotionConfig(scene_noise_px=0.0), MotionConfig(scene_noise_px=0.35)
    still = _tracked(np.zeros(2), 0.35)
    assert scene_misfit(*still, raw) > 0.3
    assert scene_misfit(*still, floored) < 0.1
    drift = _tracked(np.array([0.0, 1.5]), 0.35)
    m_raw, m_floor = scene_misfit(*drift, raw), scene_misfit(*drift, floored)
    assert m_raw > 1.0 and m_floor > 0.9 * m_raw, (m_raw, m_floor)
    assert scene_misfit(*_tracked(np.zeros(2), 0.0), raw) < 0.01  # the fit itself leaves nothing
