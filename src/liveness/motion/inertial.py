"""The phone's own motion from its IMU: the gyro's turn and the camera's displacement.

Both come out as running integrals over the sensor stamps, so the turn or the displacement over
any interval (a frame interval shifted by any clock offset) is a difference of two
interpolations. Axes and units: ../shared/CONTRACT.md (device axes, rad/s, m/s² with gravity).
"""

from __future__ import annotations

import numpy as np

from liveness.preprocess import normalise_accel_sign
from liveness.rotation import rotvec_to_matrix, running_product


def gyro_angle(imu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The gyro's running integral: stamps (N,) ms and angle (N, 3) rad (trapezoid rule)."""
    t = imu[:, 0].astype(np.float64)
    w = imu[:, 4:7].astype(np.float64)
    inc = 0.5 * (w[1:] + w[:-1]) * (np.diff(t)[:, None] / 1000.0)
    return t, np.vstack([np.zeros((1, 3)), np.cumsum(inc, axis=0)])


def gyro_over(t: np.ndarray, angle: np.ndarray, t0: np.ndarray, t1: np.ndarray) -> np.ndarray:
    """(..., 3): a running integral's change over intervals [t0, t1] (ms, any shape), clamped to
    its span (the gyro's turn from gyro_angle, the displacement from device_displacement)."""
    t0, t1 = np.asarray(t0, np.float64), np.asarray(t1, np.float64)
    if t0.ndim and t0.shape[-1] > 1 and np.array_equal(t1[..., :-1], t0[..., 1:]):
        # Back-to-back intervals (frame intervals): each stamp interpolated once, not twice.
        edges = np.concatenate([t0, t1[..., -1:]], -1)  # (..., K + 1)
        at = np.stack([np.interp(edges, t, angle[:, j]) for j in range(3)], -1)
        return at[..., 1:, :] - at[..., :-1, :]
    return np.stack(
        [np.interp(t1, t, angle[:, j]) - np.interp(t0, t, angle[:, j]) for j in range(3)], -1
    )


def _cumtrapz(x: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """(N, 3) running trapezoid integral of x (N, 3) over steps dt (N−1,) s, starting at 0."""
    return np.vstack([np.zeros((1, 3)), np.cumsum(0.5 * (x[1:] + x[:-1]) * dt[:, None], 0)])


def device_displacement(imu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The camera's running displacement in its own (moving) axes: stamps (N,) ms, (N, 3) m.

    The contract's accelerometer reads a = Rᵀ(p̈ − g). The gyro's integral gives the rotation
    R_rel(t) from the first sample's axes, so R_rel·a = p̈ − g in those fixed axes. Gravity
    (and most of a constant sensor bias) is that reading's time mean: a hand-held move starts
    and ends nearly at rest, so p̈ averages to ~0. Integrated once, the velocity is known up to
    its start value and a slow drift (what is left of the bias), a line over time that is
    fitted and removed: a constant velocity adds the same displacement to every interval, and
    the comparison is a correlation. Turned back into the moving axes and integrated again, it
    is the displacement over any interval.
    """
    imu, _ = normalise_accel_sign(np.asarray(imu, np.float64))
    t = imu[:, 0]
    dt = np.diff(t) / 1000.0
    acc, w = imu[:, 1:4], imu[:, 4:7]
    steps = rotvec_to_matrix(0.5 * (w[1:] + w[:-1]) * dt[:, None])  # (N−1, 3, 3) body-frame
    rel = running_product(steps)  # (N, 3, 3): the first sample's axes -> each sample's
    fixed = np.einsum("nij,nj->ni", rel, acc)  # p̈ − g in the first sample's axes
    wt = np.r_[dt, 0.0] + np.r_[0.0, dt]  # trapezoid weights: a time mean over uneven stamps
    wt = wt / max(wt.sum(), 1e-12)
    vel = _cumtrapz(fixed - wt @ fixed, dt)
    # Unknown start velocity and the rest of the bias (gravity's mean is not exactly g when the
    # move does not end as it began): a line over time, fitted and removed.
    basis = np.column_stack([np.ones_like(t), (t - t.mean()) / 1000.0])
    coef = np.linalg.lstsq(basis * np.sqrt(wt)[:, None], vel * np.sqrt(wt)[:, None], rcond=None)[0]
    vel = vel - basis @ coef
    return t, _cumtrapz(np.einsum("nji,nj->ni", rel, vel), dt)
