"""Hand-held phone and head trajectories, and the IMU readings derived from the same poses."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from liveness.config import GRAVITY
from liveness.rotation import matrix_to_rotvec, rotvec_to_matrix
from liveness.synth.geometry import look_at

G_WORLD = np.array([0.0, 0.0, -GRAVITY])  # z-up world, as the contract's formula
CHALLENGES = ("left", "right", "up", "down")


def min_jerk(t: np.ndarray, t0: float, t1: float) -> np.ndarray:
    """Minimum-jerk 0→1 profile between t0 and t1 (how people move a hand-held object)."""
    s = np.clip((t - t0) / max(t1 - t0, 1e-6), 0.0, 1.0)
    return s**3 * (10.0 - 15.0 * s + 6.0 * s**2)


@dataclass
class Wobble:
    """Sum of sinusoids: hand tremor (8–12 Hz), sway (0.3–3 Hz) or head drift; (N,) -> (N, 3)."""

    freq: np.ndarray  # (K,) Hz
    amp: np.ndarray  # (K, 3)
    phase: np.ndarray  # (K, 3) rad

    def __call__(self, t: np.ndarray) -> np.ndarray:
        arg = 2 * np.pi * self.freq[None, :, None] * t[:, None, None] + self.phase[None]
        return np.sum(self.amp[None] * np.sin(arg), axis=1)

    @staticmethod
    def sample(rng: np.random.Generator, bands: list[tuple[float, float, float]]) -> Wobble:
        """One sinusoid per (f_lo, f_hi, amplitude) band, random frequency, phase and axis mix."""
        freq = np.array([rng.uniform(lo, hi) for lo, hi, _ in bands])
        amp = np.array([a * rng.uniform(0.3, 1.0, 3) for _, _, a in bands]).reshape(-1, 3)
        phase = rng.uniform(0, 2 * np.pi, (len(bands), 3))
        return Wobble(freq, amp, phase)

    @staticmethod
    def none() -> Wobble:
        return Wobble(np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3)))


@dataclass
class DevicePath:
    """A phone's pose over time: an arc about `target` plus an in-place tilt, tremor and sway.

    pose(t) returns R_dev_to_world (N, 3, 3) and the camera position (N, 3) in metres.
    """

    target: np.ndarray  # world point the phone is aimed at (the face)
    eye: np.ndarray  # phone position at the start
    up: np.ndarray = field(default_factory=lambda: np.array([0.0, 0.0, 1.0]))
    roll: float = 0.0  # static roll about the optical axis, rad
    aim: np.ndarray = field(default_factory=lambda: np.zeros(3))  # static aim error, rotvec (dev)
    orbit: np.ndarray = field(default_factory=lambda: np.zeros(3))  # world rotvec of the arc
    tilt: np.ndarray = field(default_factory=lambda: np.zeros(3))  # device rotvec, in place
    push: float = 0.0  # change of distance to the target over the move, m
    t0: float = 0.2
    t1: float = 1.8
    rot_wobble: Wobble = field(default_factory=Wobble.none)  # rad, device axes
    pos_wobble: Wobble = field(default_factory=Wobble.none)  # m, world axes

    def pose(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = np.atleast_1d(np.asarray(t, dtype=np.float64))
        s = min_jerk(t, self.t0, self.t1)[:, None]  # (N, 1)
        r_orbit = rotvec_to_matrix(self.orbit[None] * s)  # (N, 3, 3) world
        rel = self.eye - self.target
        rel_n = rel / np.linalg.norm(rel)
        eye = self.target + np.einsum("nij,nj->ni", r_orbit, rel + rel_n * self.push * s)
        eye = eye + self.pos_wobble(t)
        r_base = (
            look_at(self.eye, self.target, self.up)
            @ rotvec_to_matrix(np.array([0.0, 0.0, self.roll]))
            @ rotvec_to_matrix(self.aim)
        )
        r_local = rotvec_to_matrix(self.tilt[None] * s) @ rotvec_to_matrix(self.rot_wobble(t))
        return r_orbit @ r_base @ r_local, eye


@dataclass
class RigidPath:
    """A pose that is a fixed offset from another path (a screen strapped to the phone)."""

    parent: DevicePath | RigidPath
    r_offset: np.ndarray  # (3, 3) child-to-parent rotation
    p_offset: np.ndarray  # (3,) child origin in parent axes

    def pose(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r, p = self.parent.pose(t)
        return r @ self.r_offset, p + np.einsum("nij,j->ni", r, self.p_offset)


def orbit_and_tilt(direction: str, amp: float, arc_share: float) -> tuple[np.ndarray, np.ndarray]:
    """A move that turns the view `amp` rad toward `direction` (left/right/up/down): a share
    `arc_share` as an arc about the face, the rest as tilting the phone in place. Returns the
    orbit (world rotation vector about the face) and the tilt (device rotation vector)."""
    sign = 1.0 if direction in ("left", "up") else -1.0
    if direction in ("left", "right"):
        # Arc about the world vertical through the face; tilt about the device y axis.
        orbit = np.array([0.0, 0.0, sign * amp * arc_share])
        tilt = np.array([0.0, sign * amp * (1 - arc_share) * 0.5, 0.0])
    else:
        orbit = np.array([0.0, -sign * amp * arc_share, 0.0])
        tilt = np.array([sign * amp * (1 - arc_share) * 0.5, 0.0, 0.0])
    return orbit, tilt


def sample_device_path(
    rng: np.random.Generator,
    target: np.ndarray,
    distance: float,
    challenge: str,
    amplitude_deg: float,
    duration: float,
) -> DevicePath:
    """A hand-held selfie move: the phone ~`distance` m in front of `target` (on +x), moved so
    the view turns `amplitude_deg` in the challenge's direction (arc and tilt mixed)."""
    # Phone held slightly below eye level, pointing a little up, as people do.
    eye = target + np.array(
        [distance, rng.normal(0, 0.03), rng.uniform(-0.08, 0.02)], dtype=np.float64
    )
    amp = np.radians(amplitude_deg)
    arc_share = rng.uniform(0.4, 1.0)  # the rest is tilting the phone in place
    orbit, tilt = orbit_and_tilt(challenge, amp, arc_share)
    t0 = rng.uniform(0.0, 0.3)
    t1 = min(duration, t0 + rng.uniform(1.2, 2.0))
    rot_wobble = Wobble.sample(
        rng, [(0.3, 1.5, np.radians(rng.uniform(0.2, 1.0))), (8.0, 12.0, np.radians(0.08))]
    )
    pos_wobble = Wobble.sample(rng, [(0.3, 1.5, 0.004), (8.0, 12.0, 0.0001)])
    return DevicePath(
        target=target,
        eye=eye,
        roll=np.radians(rng.normal(0, 4.0)),
        aim=np.radians(rng.normal(0, [2.5, 2.5, 0.0])),
        orbit=orbit,
        tilt=tilt,
        push=rng.normal(0, 0.02),
        t0=t0,
        t1=t1,
        rot_wobble=rot_wobble,
        pos_wobble=pos_wobble,
    )


def resting_path(rng: np.random.Generator) -> DevicePath:
    """A phone lying still on a table or propped on a stand (what a virtual camera setup reads)."""
    a = np.radians(rng.uniform(0, 90))  # 0 = upright on a stand, 90 = face-up on a table
    # Camera axis (cos a, 0, sin a); the device's top edge perpendicular to it, a little rolled.
    target = np.array([np.cos(a), 0.0, np.sin(a)])
    up = np.array([-np.sin(a), rng.normal(0, 0.05), np.cos(a)])
    return DevicePath(target=target, eye=np.zeros(3), up=up)


def imu_from_pose(
    path: DevicePath | RigidPath, t_s: np.ndarray, h: float = 1e-3
) -> tuple[np.ndarray, np.ndarray]:
    """Ideal gyro (rad/s, device axes) and accelerometer (m/s², including gravity) at times t_s.

    gyro = angular velocity in device axes: Rᵀ Ṙ = [ω]×, by central differences.
    accel = Rᵀ (p̈ − g) with g = (0, 0, −9.81), as the contract's formula.
    """
    r0, p0 = path.pose(t_s)
    rp, pp = path.pose(t_s + h)
    rm, pm = path.pose(t_s - h)
    gyro = matrix_to_rotvec(np.swapaxes(rm, 1, 2) @ rp) / (2 * h)
    a_lin = (pp - 2 * p0 + pm) / h**2
    acc = np.einsum("nji,nj->ni", r0, a_lin - G_WORLD)
    return gyro, acc


@dataclass
class SensorModel:
    """Phone IMU errors: constant bias and white noise per sensor (calibrated phone sensors)."""

    gyro_bias: np.ndarray
    gyro_noise: float
    acc_bias: np.ndarray
    acc_noise: float

    @staticmethod
    def sample(rng: np.random.Generator) -> SensorModel:
        return SensorModel(
            gyro_bias=rng.normal(0, 0.0015, 3),
            gyro_noise=rng.uniform(0.002, 0.01),
            acc_bias=rng.normal(0, 0.05, 3),
            acc_noise=rng.uniform(0.01, 0.06),
        )

    def apply(
        self, gyro: np.ndarray, acc: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        g = gyro + self.gyro_bias + rng.normal(0, self.gyro_noise, gyro.shape)
        a = acc + self.acc_bias + rng.normal(0, self.acc_noise, acc.shape)
        return g, a


def sample_times(
    rng: np.random.Generator, start: float, end: float, rate: float, jitter: float, drop: float
) -> np.ndarray:
    """Sample times (s) at `rate` Hz over [start, end] with timing jitter and dropped samples."""
    n = int(np.floor((end - start) * rate)) + 1
    t = start + np.arange(n) / rate + rng.normal(0, jitter, n)
    keep = rng.random(n) >= drop
    keep[0] = keep[-1] = True
    t = np.sort(t[keep])
    # Jitter must never reorder samples or repeat a timestamp.
    return np.maximum.accumulate(t + np.arange(len(t)) * 1e-7)
