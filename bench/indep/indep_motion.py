"""Hand-held phone and head trajectories on a fine clock, and the IMU derived from them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

G = 9.81
FS = 1000.0  # fine simulation rate (Hz)
MARGIN = 0.7  # seconds simulated before and after the clip
# Device axes in a z-up world for a phone held upright in portrait, screen facing the user,
# who stands at world -Y of the phone: device x -> world +X, y -> world +Z, z -> world -Y.
R_UPRIGHT = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def hat(v: np.ndarray) -> np.ndarray:
    """Skew matrices of vectors (..., 3) -> (..., 3, 3)."""
    z = np.zeros(v.shape[:-1])
    x, y, w = v[..., 0], v[..., 1], v[..., 2]
    return np.stack(
        [np.stack([z, -w, y], -1), np.stack([w, z, -x], -1), np.stack([-y, x, z], -1)], -2
    )


def expm_so3(v: np.ndarray) -> np.ndarray:
    """Rodrigues: rotation vectors (..., 3) -> rotation matrices (..., 3, 3)."""
    th = np.linalg.norm(v, axis=-1)[..., None, None]
    k = hat(v)
    safe = np.where(th < 1e-12, 1.0, th)
    a = np.where(th < 1e-12, 1.0, np.sin(safe) / safe)
    b = np.where(th < 1e-12, 0.5, (1 - np.cos(safe)) / safe**2)
    return np.eye(3) + a * k + b * (k @ k)


def logm_so3(r: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) -> rotation vectors (small to moderate angles)."""
    c = np.clip((np.trace(r, axis1=-2, axis2=-1) - 1) / 2, -1.0, 1.0)
    th = np.arccos(c)
    w = np.stack(
        [r[..., 2, 1] - r[..., 1, 2], r[..., 0, 2] - r[..., 2, 0], r[..., 1, 0] - r[..., 0, 1]], -1
    )
    s = np.where(th < 1e-9, 1.0, th / np.maximum(np.sin(th), 1e-12))
    return 0.5 * w * s[..., None]


def axis_angle(axis: np.ndarray, ang: np.ndarray) -> np.ndarray:
    """Rotations about one world axis by angles (N,) -> (N, 3, 3)."""
    return expm_so3(ang[:, None] * (axis / np.linalg.norm(axis))[None, :])


def min_jerk(t: np.ndarray, t0: float, dur: float) -> np.ndarray:
    s = np.clip((t - t0) / dur, 0.0, 1.0)
    return 10 * s**3 - 15 * s**4 + 6 * s**5


def sines(
    rng: np.random.Generator,
    t: np.ndarray,
    band: tuple[float, float],
    amp: float,
    n: int,
    dims: int = 3,
) -> np.ndarray:
    """Sum of n random sinusoids per dimension in a band, scaled to about `amp` rms."""
    out = np.zeros((t.size, dims))
    for d in range(dims):
        f = rng.uniform(*band, n)
        ph = rng.uniform(0, 2 * np.pi, n)
        a = rng.uniform(0.3, 1.0, n)
        env_f = rng.uniform(0.2, 0.8)
        env = 1 + 0.4 * np.sin(2 * np.pi * env_f * t + rng.uniform(0, 6.3))
        sig = (a[None] * np.sin(2 * np.pi * f[None] * t[:, None] + ph[None])).sum(1) * env
        out[:, d] = sig / np.sqrt(0.5 * (a**2).sum()) * amp
    return out


@dataclass
class Motion:
    """Phone and head trajectories sampled on the fine clock `t` (seconds, clip time)."""

    t: np.ndarray
    r_dev: np.ndarray  # (N,3,3) device -> world, full motion (what the IMU sees)
    r_smooth: np.ndarray  # (N,3,3) orientation without sway/tremor (stabilised video)
    p_dev: np.ndarray  # (N,3) device position, world (m)
    r_head: np.ndarray  # (N,3,3) head local -> world
    p_head: np.ndarray  # (N,3) head centre, world
    challenge: str
    amp_deg: float
    arc_frac: float


def make_motion(
    rng: np.random.Generator,
    dur: float,
    dist: float,
    challenge: str,
    offset_xy: tuple[float, float],
) -> Motion:
    """Phone at arm's length moving (arc about the face and/or turning) after a challenge."""
    t = np.arange(-MARGIN, dur + MARGIN, 1.0 / FS)
    n = t.size
    tilt = expm_so3(np.array([rng.uniform(-0.05, 0.3), 0.0, rng.uniform(-0.06, 0.06)]))
    r_init = R_UPRIGHT @ tilt
    # head centre in front of the phone along the (tilted) optical axis, with an offset
    head0 = r_init @ np.array([offset_xy[0], offset_xy[1], dist])
    amp = np.deg2rad(rng.uniform(5, 25))
    arc = rng.uniform(0, 1)
    if (1 - arc) * amp > np.deg2rad(12):
        arc = 1 - np.deg2rad(12) / amp
    t0 = rng.uniform(0.1, 0.6)
    mdur = rng.uniform(0.7, max(0.75, min(1.5, dur - t0 - 0.1)))
    gam = amp * min_jerk(t, t0, mdur)
    if rng.random() < 0.4:  # partial return
        t1 = t0 + mdur + rng.uniform(0.0, 0.2)
        gam = gam - amp * rng.uniform(0.2, 0.8) * min_jerk(t, t1, rng.uniform(0.4, 0.8))
    # "left": the phone goes toward the user's left = device -x = world -X: +angle about world Z
    axis = {"left": (0, 0, 1), "right": (0, 0, -1), "up": (1, 0, 0), "down": (-1, 0, 0)}[challenge]
    r_big = axis_angle(np.array(axis, float), gam)
    r_arc = axis_angle(np.array(axis, float), arc * gam)
    sway_r = sines(rng, t, (0.5, 2.0), np.deg2rad(rng.uniform(0.2, 1.0)), 3)
    trem_amp = np.deg2rad(np.exp(rng.uniform(np.log(0.05), np.log(0.4))))
    trem_r = sines(rng, t, (3.0, 12.0), trem_amp, 5)
    sway_p = sines(rng, t, (0.5, 2.0), rng.uniform(0.001, 0.006), 3)
    trem_p = sines(rng, t, (3.0, 12.0), rng.uniform(0.00005, 0.0003), 4)
    r_dev = r_big @ r_init @ expm_so3(sway_r + trem_r)
    r_smooth = r_big @ r_init @ expm_so3(0.15 * sway_r)
    p_dev = head0 + np.einsum("nij,j->ni", r_arc, -head0) + sway_p + trem_p
    # small independent head motion: slow turns, breathing, a little sway
    hr = sines(rng, t, (0.15, 0.8), np.deg2rad(rng.uniform(0.3, 2.0)), 2)
    hr += sines(rng, t, (1.0, 4.0), np.deg2rad(rng.uniform(0.02, 0.15)), 3)
    hp = sines(rng, t, (0.2, 0.6), rng.uniform(0.0005, 0.003), 2)
    face_yaw = rng.normal(0, 0.08)
    # head local frame: x, y up, z toward the phone; initially looking back at the phone
    z_h = -r_init[:, 2] * np.array([1, 1, 0.0])
    z_h = z_h / np.linalg.norm(z_h)
    y_h = np.array([0.0, 0.0, 1.0])
    r_h0 = np.stack([np.cross(y_h, z_h), y_h, z_h], 1)
    r_head = r_h0 @ expm_so3(hr + np.array([0.0, face_yaw, 0.0]))
    p_head = head0 + hp
    assert n == r_head.shape[0]
    return Motion(
        t, r_dev, r_smooth, p_dev, r_head, p_head, challenge, float(np.rad2deg(amp)), float(arc)
    )


def true_imu(m: Motion) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free gyro (rad/s, device frame) and accelerometer incl. gravity on m.t."""
    dt = 1.0 / FS
    rel = np.einsum("nji,njk->nik", m.r_dev[:-1], m.r_dev[1:])  # R_t^T R_{t+dt}
    w_mid = logm_so3(rel) / dt
    tm = m.t[:-1] + dt / 2
    gyro = np.stack([np.interp(m.t, tm, w_mid[:, k]) for k in range(3)], 1)
    acc_w = np.gradient(np.gradient(m.p_dev, dt, axis=0), dt, axis=0)
    g_world = np.array([0.0, 0.0, -G])
    acc = np.einsum("nji,nj->ni", m.r_dev, acc_w - g_world)  # R^T (a - g)
    return gyro, acc


def sample_imu(
    rng: np.random.Generator, m: Motion, stamps_true: np.ndarray, src_time: np.ndarray
) -> np.ndarray:
    """IMU rows at the given (clip-time, s) source times plus noise and bias: (K, 6)."""
    gyro, acc = true_imu(m)
    g = np.stack([np.interp(src_time, m.t, gyro[:, k]) for k in range(3)], 1)
    a = np.stack([np.interp(src_time, m.t, acc[:, k]) for k in range(3)], 1)
    return add_noise(rng, np.concatenate([a, g], 1))


def add_noise(rng: np.random.Generator, rows: np.ndarray) -> np.ndarray:
    out = rows.copy()
    k = rows.shape[0]
    out[:, :3] += rng.normal(0, 0.05, 3) + rng.normal(0, rng.uniform(0.02, 0.08), (k, 3))
    out[:, 3:] += rng.normal(0, 0.008, 3) + rng.normal(0, rng.uniform(0.003, 0.01), (k, 3))
    return out


def rest_imu(rng: np.random.Generator, k: int) -> np.ndarray:
    """A phone lying still (face-up, slightly tilted): gravity plus noise."""
    r = expm_so3(rng.normal(0, 0.03, 3))
    a = r.T @ np.array([0.0, 0.0, G])
    rows = np.concatenate([np.tile(a, (k, 1)), np.zeros((k, 3))], 1)
    return add_noise(rng, rows)
