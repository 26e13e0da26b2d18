"""Motion agreement (liveness.motion): rotations recovered from video, agreement and its findings.

The rig: a camera that only rotates sees a distant textured scene; every frame is the exact
homography A·Rᵀ·A⁻¹ of one wide canvas, with A the contract's projection (u along −x, v along
−y), and the gyro reads the same angular velocity. Nothing here is fitted to the code under test:
signs and axes come from the contract.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from liveness.config import MotionConfig
from liveness.motion import agreement, focal_px, rotation_jacobian
from liveness.synth.geometry import rotvec_to_matrix

W, H, HFOV = 240, 320, 65.0
F = focal_px(W, HFOV)
MARGIN = 160  # canvas border: room for the view to turn


def _projection(cx: float, cy: float) -> np.ndarray:
    """Pixel ∝ A · ray, with the contract's image axes (u along −x, v along −y)."""
    return np.array([[-F, 0.0, cx], [0.0, -F, cy], [0.0, 0.0, 1.0]])


def canvas(seed: int) -> np.ndarray:
    """A textured far wall seen by the rig at rest, with room around it (uint8 RGB)."""
    rng = np.random.default_rng(seed)
    noise = rng.random((H + 2 * MARGIN, W + 2 * MARGIN)).astype(np.float32)
    img = cv2.GaussianBlur(noise, (0, 0), 2.0)
    img = (img - img.min()) / (img.max() - img.min())
    return np.repeat((255 * img).astype(np.uint8)[..., None], 3, axis=-1)


def render(big: np.ndarray, rots: np.ndarray) -> np.ndarray:
    """Frames (T, H, W, 3) of the canvas seen after device rotations rots (T, 3, 3) (dev->world,
    world = the device at rest): pixel_t ∝ A Rᵀ A_c⁻¹ canvas pixel."""
    a = _projection(W / 2, H / 2)
    a_c_inv = np.linalg.inv(_projection(W / 2 + MARGIN, H / 2 + MARGIN))
    out = [cv2.warpPerspective(big, a @ r.T @ a_c_inv, (W, H), flags=cv2.INTER_CUBIC) for r in rots]
    return np.stack(out)


def omega(t: np.ndarray, seed: int, tremor: float = 1.0) -> np.ndarray:
    """Angular velocity (N, 3) rad/s of a hand-held move: a slow turn, sway and tremor."""
    rng = np.random.default_rng(seed)
    slow = np.radians(12.0) * np.sin(np.pi * t / 2.0)[:, None] * rng.normal(0, 1, 3)
    out = slow * np.array([1.0, 1.0, 0.3])
    for f_lo, f_hi, amp in ((0.8, 2.5, 4.0), (3.0, 7.0, tremor * 3.0)):
        freq, ph = rng.uniform(f_lo, f_hi, 3), rng.uniform(0, 2 * np.pi, 3)
        out = out + np.radians(amp) * np.sin(2 * np.pi * freq[None] * t[:, None] + ph)
    return out


def capture(seed: int, fps: float = 15.0, imu_hz: float = 100.0, stabilise: bool = False):
    """(frames, frame_t_ms, imu) of one rig capture; `stabilise` removes the sway and tremor
    from the image (not from the gyro), as electronic stabilisation would."""
    dt = 1e-3
    t = np.arange(0.0, 2.2, dt)
    w = omega(t, seed)
    w_img = omega(t, seed, tremor=0.0) if stabilise else w
    if stabilise:  # keep only the slow turn and a little sway
        k = np.exp(-0.5 * (np.arange(-200, 201) / 80.0) ** 2)
        w_img = np.column_stack([np.convolve(w_img[:, j], k / k.sum(), "same") for j in range(3)])
    rots = [np.eye(3)]
    for x in w_img[:-1]:
        rots.append(rots[-1] @ rotvec_to_matrix(x * dt))  # body-frame rates
    rots_arr = np.array(rots)
    ft = np.arange(0.05, 2.1, 1.0 / fps)
    frames = render(canvas(seed), rots_arr[np.round(ft / dt).astype(int)])
    it = np.arange(0.0, 2.2, 1.0 / imu_hz)
    gyro = w[np.round(it / dt).astype(int).clip(0, len(t) - 1)]
    acc = np.tile([0.0, 9.81, 0.0], (len(it), 1))
    imu = np.column_stack([1000 * it, acc, gyro])
    return frames, 1000 * ft, imu


CFG = MotionConfig()


def test_jacobian_matches_exact_projection() -> None:
    """The linearised rotational flow equals the exact reprojection to second order."""
    u, v = np.meshgrid(np.linspace(10, W - 10, 7), np.linspace(10, H - 10, 9))
    u, v = u.ravel(), v.ravel()
    for delta in np.radians([[0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5], [0.3, -0.2, 0.1]]):
        a = _projection(W / 2, H / 2)
        q = a @ rotvec_to_matrix(delta).T @ np.linalg.inv(a) @ np.stack([u, v, np.ones_like(u)])
        exact = (q[:2] / q[2]).T - np.column_stack([u, v])
        lin = rotation_jacobian(u, v, W, H, F) @ delta
        assert np.abs(lin - exact).max() < 0.02 * np.abs(exact).max() + 1e-3


def test_turn_about_y_moves_the_image_right() -> None:
    """Contract: a turn about +y points the camera toward device +x, i.e. image −u: the scene
    slides toward +u."""
    jac = rotation_jacobian(np.array([W / 2]), np.array([H / 2]), W, H, F)[0]
    assert jac[0, 1] > 0 and abs(jac[1, 1]) < 1e-9
    assert jac[1, 0] < 0  # a turn about +x (camera tilts up, toward +y = image −v): scene +v


@pytest.mark.parametrize("delta_deg", [(0.6, 0, 0), (0, 0.6, 0), (0, 0, 1.0), (0.4, -0.5, 0.3)])
def test_known_rotation_is_recovered(delta_deg: tuple[float, float, float]) -> None:
    """A known rotation between two frames is recovered within 3 % + 0.01° per axis."""
    delta = np.radians(delta_deg)
    frames = render(canvas(1), np.array([np.eye(3), rotvec_to_matrix(delta)]))
    from liveness.motion import video_motion

    vm = video_motion(frames, np.array([0.0, 50.0]), CFG, hfov_deg=HFOV)
    got = np.degrees(vm.rot[0])
    assert np.allclose(got, delta_deg, atol=0.01 + 0.03 * np.abs(delta_deg).max()), got
    assert vm.conf[0] > 0.5


def test_genuine_capture_agrees() -> None:
    frames, ft, imu = capture(3)
    a, _ = agreement(frames, ft, imu, CFG, hfov_deg=HFOV)
    assert a.status == "agrees", a.to_dict()
    assert a.r > 0.95 and abs(a.offset_ms) <= 10 and 0.9 < a.gain < 1.1


@pytest.mark.parametrize("shift_ms", [-60.0, -25.0, 10.0, 40.0, 60.0])
def test_small_clock_offsets_agree_and_are_measured(shift_ms: float) -> None:
    frames, ft, imu = capture(4)
    imu[:, 0] += shift_ms  # sensor stamps run late (+) or early (−)
    a, _ = agreement(frames, ft, imu, CFG, hfov_deg=HFOV)
    assert a.status == "agrees", a.to_dict()
    assert abs(a.offset_ms - shift_ms) <= 10


def test_stabilised_video_agrees() -> None:
    """Stabilisation removes tremor and sway from the image, not from the gyro: the slow turn
    still agrees (with less confidence in the fast part)."""
    frames, ft, imu = capture(5, stabilise=True)
    a, _ = agreement(frames, ft, imu, CFG, hfov_deg=HFOV)
    assert a.status == "agrees", a.to_dict()


def test_unknown_focal_length_only_changes_the_gain() -> None:
    """Camera 75° wide, checked with the 65° prior: agreement holds, the gain shows the error."""
    frames, ft, imu = capture(6)
    cfg = dataclasses.replace(CFG, hfov_deg=50.0)
    a, _ = agreement(frames, ft, imu, cfg)
    assert a.status == "agrees" and a.gain < 0.95


@pytest.mark.parametrize("shift_ms", [-500.0, -250.0, 100.0, 150.0, 300.0, 500.0])
def test_shifted_imu_disagrees(shift_ms: float) -> None:
    """A genuine IMU replayed 100–500 ms off is not explained by the offset search."""
    frames, ft, imu = capture(7)
    imu[:, 0] += shift_ms
    a, _ = agreement(frames, ft, imu, CFG, hfov_deg=HFOV)
    assert a.status == "disagrees", a.to_dict()
    assert "offset" in a.findings or "low_correlation" in a.findings
    genuine, _ = agreement(*capture(7), CFG, hfov_deg=HFOV)
    assert a.score < genuine.score - 0.1


def test_other_captures_imu_disagrees() -> None:
    frames, ft, _ = capture(8)
    _, _, imu = capture(9)
    a, _ = agreement(frames, ft, imu, CFG, hfov_deg=HFOV)
    assert a.status == "disagrees" and a.score < 0.4, a.to_dict()


def test_resting_imu_under_moving_video() -> None:
    frames, ft, imu = capture(10)
    imu[:, 4:7] = np.random.default_rng(0).normal(0, 0.002, (len(imu), 3))
    a, _ = agreement(frames, ft, imu, CFG, hfov_deg=HFOV)
    assert "video_moves_phone_rests" in a.findings and a.score == 0.0


def test_moving_imu_under_still_video() -> None:
    frames, ft, imu = capture(11)
    still = np.repeat(frames[:1], len(frames), axis=0)
    a, _ = agreement(still, ft, imu, CFG, hfov_deg=HFOV)
    assert "phone_moves_video_still" in a.findings and a.score == 0.0


def test_nothing_moves_is_no_motion_not_an_attack() -> None:
    frames, ft, imu = capture(12)
    imu[:, 4:7] = 0.0
    a, _ = agreement(np.repeat(frames[:1], len(frames), axis=0), ft, imu, CFG, hfov_deg=HFOV)
    assert a.status == "no_motion" and "move" in a.words()


def test_no_sensors_and_blank_video() -> None:
    frames, ft, _ = capture(13)
    a, _ = agreement(frames, ft, None, CFG)
    assert a.status == "no_sensors" and np.isnan(a.score)
    blank = np.full_like(frames, 128)
    a, _ = agreement(blank, ft, capture(13)[2], CFG)
    assert a.status in ("unreliable", "disagrees")
    assert a.to_dict()["score"] is None or a.score < 0.5
