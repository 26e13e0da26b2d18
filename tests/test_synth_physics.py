"""Physics checks of the synthetic IMU: gyro integrates to the rendered rotation, gravity, rest."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from liveness.config import GRAVITY, SynthConfig
from liveness.rotation import matrix_to_rotvec, rotvec_to_matrix
from liveness.synth import capture, clipgen
from liveness.synth.atlas import sample_atlas
from liveness.synth.clipgen import render_clip
from liveness.synth.geometry import look_at
from liveness.synth.spec import ClipSpec
from liveness.synth.trajectory import (
    DevicePath,
    RigidPath,
    SensorModel,
    Wobble,
    imu_from_pose,
    resting_path,
    sample_device_path,
    sample_times,
)

EZ = np.array([0.0, 0.0, 1.0])
CFG = SynthConfig(width=48, height=64)


def integrate(t_s: np.ndarray, gyro: np.ndarray, t_query: np.ndarray) -> np.ndarray:
    """R(t_query[0])ᵀ R(t_query[k]) from body rates: R ← R·exp(ω̄·dt), trapezoid in time.

    The gyro is linearly interpolated, so the integration grid is the union of sample and query
    times inside the query span.
    """
    grid = np.union1d(t_s[(t_s > t_query[0]) & (t_s < t_query[-1])], t_query)
    w = np.stack([np.interp(grid, t_s, gyro[:, k]) for k in range(3)], -1)
    out = [np.eye(3)]
    r = np.eye(3)
    j = 1
    for i in range(1, len(grid)):
        r = r @ rotvec_to_matrix(0.5 * (w[i] + w[i - 1]) * (grid[i] - grid[i - 1]))
        if j < len(t_query) and np.isclose(grid[i], t_query[j], rtol=0, atol=1e-12):
            out.append(r.copy())
            j += 1
    assert j == len(t_query)
    return np.stack(out)


def angle_deg(r: np.ndarray) -> np.ndarray:
    """Rotation angle(s) of (…, 3, 3) matrices, degrees."""
    return np.degrees(np.linalg.norm(matrix_to_rotvec(r), axis=-1))


def relative_truth(path: Any, t_frames: np.ndarray) -> np.ndarray:
    r, _ = path.pose(t_frames)
    return np.swapaxes(r[:1], 1, 2) @ r


def _paths(seed: int) -> list[Any]:
    rng = np.random.default_rng(seed)
    chal = ("left", "right", "up", "down")[seed % 4]
    path = sample_device_path(rng, np.zeros(3), rng.uniform(0.2, 0.4), chal, 25.0, 2.4)
    off = rotvec_to_matrix(rng.normal(0, 0.3, 3))
    return [path, RigidPath(path, off, np.array([0.01, -0.02, 0.1]))]


@pytest.mark.parametrize("seed", range(6))
def test_noisy_gyro_integrates_to_the_pose_rotation(seed: int) -> None:
    for path in _paths(seed):
        rng = np.random.default_rng([seed, 7])
        duration = rng.uniform(1.8, 2.4)
        t_frames = sample_times(rng, 0.0, duration, rng.uniform(10, 30), 0.002, 0.03)
        t_imu = sample_times(
            rng, t_frames[0] - 0.05, t_frames[-1] + 0.05, rng.uniform(50, 100), 0.002, 0.02
        )
        gyro, acc = imu_from_pose(path, t_imu)
        gyro, acc = SensorModel.sample(rng).apply(gyro, acc, rng)
        est = integrate(t_imu, gyro, t_frames)
        truth = relative_truth(path, t_frames)
        err = angle_deg(np.swapaxes(est, 1, 2) @ truth)
        assert err.max() < 1.0, f"max gyro integration error {err.max():.2f}°"
        # The test has teeth: the move itself is far larger than the tolerance.
        assert angle_deg(truth).max() > 5.0


@pytest.mark.parametrize("seed", range(3))
def test_ideal_gyro_is_body_rate(seed: int) -> None:
    # Without noise the trapezoid integration is accurate far below a degree.
    path = _paths(seed)[0]
    t_frames = np.linspace(0.0, 2.0, 21)
    t_imu = np.arange(-0.01, 2.02, 0.005)
    gyro, _ = imu_from_pose(path, t_imu)
    est = integrate(t_imu, gyro, t_frames)
    err = angle_deg(np.swapaxes(est, 1, 2) @ relative_truth(path, t_frames))
    assert err.max() < 0.1


def test_pure_translation_has_zero_gyro() -> None:
    r0 = look_at(np.array([0.3, 0.0, 0.0]), np.zeros(3), EZ)

    class Sliding:
        def pose(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            t = np.atleast_1d(t)
            p = np.stack([0.3 + 0.05 * np.sin(3 * t), 0.1 * t**2, 0.02 * t], -1)
            return np.broadcast_to(r0, (len(t), 3, 3)), p

    t = np.linspace(0.0, 2.0, 50)
    gyro, acc = imu_from_pose(Sliding(), t)  # type: ignore[arg-type]
    assert np.allclose(gyro, 0.0, atol=1e-12)
    # Accelerometer: Rᵀ(p̈ − g) with p̈ = (−0.45 sin 3t, 0.2, 0).
    a_lin = np.stack([-0.45 * np.sin(3 * t), np.full_like(t, 0.2), np.zeros_like(t)], -1)
    want = (a_lin - np.array([0.0, 0.0, -GRAVITY])) @ r0
    assert np.allclose(acc, want, atol=1e-4)


@pytest.mark.parametrize("omega", [0.3, -1.2])
def test_constant_rate_about_device_z(omega: float) -> None:
    r0 = look_at(np.array([0.3, 0.0, 0.0]), np.zeros(3), EZ)

    class Spinning:
        def pose(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            t = np.atleast_1d(t)
            r = r0 @ rotvec_to_matrix(omega * t[:, None] * np.array([0.0, 0.0, 1.0]))
            return r, np.zeros((len(t), 3))

    t = np.linspace(0.0, 2.0, 40)
    gyro, acc = imu_from_pose(Spinning(), t)  # type: ignore[arg-type]
    assert np.allclose(gyro, [0.0, 0.0, omega], atol=1e-9)
    # Spinning about the horizontal optical axis turns gravity within the screen plane.
    assert np.allclose(np.linalg.norm(acc, axis=1), GRAVITY, atol=1e-6)
    assert np.allclose(acc[:, 2], 0.0, atol=1e-6)


def test_device_path_tilt_gives_gyro_about_tilt_axis() -> None:
    # An in-place tilt about device y only (no orbit, no wobble) reads gyro along +y alone,
    # and integrates to the tilt angle.
    path = DevicePath(
        target=np.zeros(3), eye=np.array([0.3, 0.0, 0.0]), tilt=np.array([0.0, 0.2, 0.0])
    )
    t = np.arange(0.0, 2.0, 0.01)
    gyro, _ = imu_from_pose(path, t)
    assert np.allclose(gyro[:, [0, 2]], 0.0, atol=1e-9)
    assert np.all(gyro[:, 1] >= -1e-9) and gyro[:, 1].max() > 0.1
    assert np.isclose(np.trapezoid(gyro[:, 1], t), 0.2, atol=1e-3)


def test_resting_upright_and_face_up_match_contract() -> None:
    t = np.linspace(0.0, 2.0, 30)
    upright = DevicePath(target=np.array([1.0, 0, 0]), eye=np.zeros(3), up=EZ)
    face_up = DevicePath(target=np.array([0.0, 0, 1]), eye=np.zeros(3), up=np.array([-1.0, 0, 0]))
    for path, want in ((upright, [0.0, GRAVITY, 0.0]), (face_up, [0.0, 0.0, GRAVITY])):
        gyro, acc = imu_from_pose(path, t)
        assert np.allclose(gyro, 0.0, atol=1e-12)
        assert np.allclose(acc, want, atol=1e-6)


@pytest.mark.parametrize("seed", range(8))
def test_resting_path_reads_gravity(seed: int) -> None:
    rng = np.random.default_rng(seed)
    path = resting_path(rng)
    t = sample_times(rng, 0.0, 2.0, 60.0, 0.002, 0.02)
    gyro, acc = imu_from_pose(path, t)
    assert np.allclose(gyro, 0.0, atol=1e-12)
    assert np.allclose(np.linalg.norm(acc, axis=1), GRAVITY, atol=1e-6)
    # Between upright (y up) and face-up (z up): gravity reaction has no negative y/z part.
    assert np.all(acc[:, 1] > -0.1) and np.all(acc[:, 2] > -0.1)
    sensor = SensorModel.sample(rng)
    _, noisy = sensor.apply(gyro, acc, rng)
    bias = np.linalg.norm(sensor.acc_bias)
    dev = np.abs(np.linalg.norm(noisy, axis=1) - GRAVITY)
    assert np.all(dev < bias + 5 * sensor.acc_noise + 1e-3)


def test_accelerometer_formula_on_a_moving_path() -> None:
    # accel = Rᵀ(p̈ − g), p̈ from the path's positions by a second difference.
    rng = np.random.default_rng(3)
    path = sample_device_path(rng, np.zeros(3), 0.3, "up", 20.0, 2.0)
    t = np.linspace(0.1, 1.9, 25)
    _, acc = imu_from_pose(path, t)
    h = 1e-2
    r, p = path.pose(t)
    _, pp = path.pose(t + h)
    _, pm = path.pose(t - h)
    a_lin = (pp - 2 * p + pm) / h**2
    want = np.einsum("nji,nj->ni", r, a_lin - np.array([0.0, 0.0, -GRAVITY]))
    assert np.allclose(acc, want, atol=0.05)
    # The hand's motion adds little to gravity.
    assert np.all(np.abs(np.linalg.norm(acc, axis=1) - GRAVITY) < 2.0)


# --- End to end through the generator -------------------------------------------------------


def _clip_rotations(r: clipgen.Rendered) -> tuple[np.ndarray, np.ndarray]:
    assert r.imu is not None
    t_imu, gyro = r.imu[:, 0] / 1000.0, r.imu[:, 4:7]
    t_frames = r.frame_t_ms / 1000.0
    return t_frames, integrate(t_imu, gyro, t_frames)


def render_spied(
    monkeypatch: pytest.MonkeyPatch, spec: ClipSpec, seed: int, cfg: SynthConfig
) -> tuple[clipgen.Rendered, list[tuple[Any, np.ndarray]], list[np.ndarray]]:
    """Render a clip, recording each (path, times) handed to imu_from_pose (frames' motion blur
    first, the IMU last) and the camera rotation of every rendered frame."""
    calls: list[tuple[Any, np.ndarray]] = []
    cams: list[np.ndarray] = []
    orig_imu, orig_render = clipgen.imu_from_pose, capture.render

    def imu_spy(path: Any, t_s: np.ndarray, *a: Any, **k: Any) -> Any:
        calls.append((path, np.array(t_s, dtype=np.float64)))
        return orig_imu(path, t_s, *a, **k)

    def render_spy(objects: Any, r_cam: np.ndarray, *a: Any, **k: Any) -> Any:
        cams.append(np.array(r_cam))
        return orig_render(objects, r_cam, *a, **k)

    monkeypatch.setattr(clipgen, "imu_from_pose", imu_spy)
    monkeypatch.setattr(capture, "imu_from_pose", imu_spy)
    monkeypatch.setattr(capture, "render", render_spy)
    atlas = sample_atlas(np.random.default_rng([seed, 0x5B, 0]))
    return render_clip(spec, atlas, cfg, seed), calls, cams


@pytest.mark.parametrize(("seed", "challenge"), [(0, "left"), (1, "right"), (2, "up"), (3, "down")])
def test_generated_live_clip_gyro_matches_rendered_camera(
    monkeypatch: pytest.MonkeyPatch, seed: int, challenge: str
) -> None:
    spec = ClipSpec(index=5, subject=0, attack="none", variant="normal", has_imu=True,
                    challenge=challenge)  # fmt: skip
    r, calls, rendered_r = render_spied(monkeypatch, spec, seed, CFG)
    t_frames, est = _clip_rotations(r)
    # The rotation the frames were rendered with, relative to the first frame.
    assert len(rendered_r) == len(t_frames)
    cam = np.stack(rendered_r)
    truth = np.swapaxes(cam[:1], 1, 2) @ cam
    err = angle_deg(np.swapaxes(est, 1, 2) @ truth)
    assert err.max() < 1.0, f"max error {err.max():.2f}° between gyro and rendered camera"
    assert 3.0 < angle_deg(est).max() < 40.0
    # The IMU was generated from the very path the frames were rendered with.
    paths = {id(p) for p, _ in calls}
    assert len(paths) == 1
    # Same clock: recover the path's time origin from the IMU's and check the frame times.
    (path, t_frames_s), (_, t_imu_s) = calls[0], calls[-1]
    origin_ms = r.imu[0, 0] - 1000.0 * t_imu_s[0]  # type: ignore[index]
    assert np.allclose(r.frame_t_ms, origin_ms + 1000.0 * t_frames_s, atol=1e-6)
    assert np.allclose(relative_truth(path, t_frames_s), truth, atol=1e-9)


def test_generated_rest_injection_gyro_is_still(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = ClipSpec(index=3, subject=0, attack="injection", variant="rest", has_imu=True,
                    challenge="left")  # fmt: skip
    r, _, rendered_r = render_spied(monkeypatch, spec, 4, CFG)
    _, est = _clip_rotations(r)
    assert angle_deg(est).max() < 1.0
    assert r.imu is not None
    assert np.allclose(np.linalg.norm(r.imu[:, 1:4], axis=1), GRAVITY, atol=0.5)
    # ...while the injected video itself was rendered from a moving camera.
    cam = np.stack(rendered_r)
    assert angle_deg(np.swapaxes(cam[:1], 1, 2) @ cam).max() > 3.0


@pytest.mark.parametrize(("attack", "variant"), [("print", "rig"), ("replay", "held")])
def test_generated_attack_clip_gyro_matches_its_camera(
    monkeypatch: pytest.MonkeyPatch, attack: str, variant: str
) -> None:
    # Print and replay attacks are filmed by a real, moving phone: gyro still tells the truth.
    spec = ClipSpec(index=9, subject=0, attack=attack, variant=variant, has_imu=True,
                    challenge="right")  # fmt: skip
    r, _, rendered_r = render_spied(monkeypatch, spec, 5, CFG)
    t_frames, est = _clip_rotations(r)
    cam = np.stack(rendered_r[-len(t_frames) :])  # the capture's frames come last
    truth = np.swapaxes(cam[:1], 1, 2) @ cam
    assert angle_deg(np.swapaxes(est, 1, 2) @ truth).max() < 1.0


def test_wobble_none_is_zero() -> None:
    assert np.array_equal(Wobble.none()(np.linspace(0, 1, 5)), np.zeros((5, 3)))
