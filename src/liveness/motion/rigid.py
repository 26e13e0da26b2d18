"""Does the filmed scene hold still while the phone moves? A screen replaying a recording does not.

In a genuine capture the phone's own motion explains how every corner of the room moves: its
turn (gyro) moves each image point by a depth-free amount, and its translation (accelerometer)
by an amount along a known direction scaled by one unknown per corner, its inverse depth. A
head that moves by itself breaks that for the face's corners, but the room behind it holds. A
screen replaying a recording is one surface whose picture moves with the recording's camera:
none of its corners follows the phone's motion at any depth, wherever it sits in the frame and
however much of the frame it fills (docs/MOTION.md, "A scene that moves by itself").

So every corner followed over cfg.scene_min_len intervals gets its inverse depth fitted, and
its misfit is the RMS of what is left beyond the tracker's noise (cfg.scene_noise_px),
relative to how far the phone's turn moved it. The capture's number is the
cfg.scene_quantile of those (weighted by intervals): the best-explained part of the scene,
the room when there is one. Fitted with it, per capture:
the velocity the accelerometer cannot know (device_displacement removes a line from its
velocity, a one-way move's mean included: a constant per axis across the view), and a gain on
the turn within the field-of-view prior's range (the focal length moves both parts alike).
Axes and projection: ../shared/CONTRACT.md via rotation_jacobian and translation_as_turn.
"""

from __future__ import annotations

import numpy as np

from liveness.config import MotionConfig
from liveness.motion.video import VideoMotion, rotation_jacobian

# A translation t (device axes) seen at 1 m as a turn, (−t_y, t_x, 0) (parallax.py): S @ t.
_S = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])


def scene_misfit(
    vm: VideoMotion, turn: np.ndarray, disp: np.ndarray, use: np.ndarray, cfg: MotionConfig
) -> float:
    """The share of the scene's motion the phone's own motion cannot explain (module docstring).

    turn (K, 3) rad: the gyro's turn over each frame interval at the check's clock offset;
    disp (K, 3) m: the accelerometer's displacement over the same intervals; use (K,) bool:
    the intervals the sensor stream spans. NaN with fewer than cfg.scene_min_tracks corners
    followed over cfg.scene_min_len such intervals, or when the phone hardly turned.
    """
    gw, gh = vm.size
    if len(vm.track_ids) != len(vm.tracks):  # a VideoMotion built without its track numbers
        return float("nan")
    parts = [(i, a, b, ids) for i, ((a, b), ids) in enumerate(zip(vm.tracks, vm.track_ids,
             strict=True)) if use[i] and len(a)]  # fmt: skip
    if not parts:
        return float("nan")
    k = np.repeat([i for i, *_ in parts], [len(a) for _, a, _, _ in parts])  # (N,) interval
    a = np.concatenate([a for _, a, _, _ in parts])  # (N, 2) px, tracked size
    flow = np.concatenate([b for _, _, b, _ in parts]) - a
    _, tr, count = np.unique(np.concatenate([t for *_, t in parts]), return_inverse=True,
                             return_counts=True)  # fmt: skip
    long = count >= cfg.scene_min_len  # (tracks,) followed long enough
    n = int(long.sum())
    if n < cfg.scene_min_tracks:
        return float("nan")
    keep = long[tr]
    # The kept tracks renumbered 0..n−1 in their order (what np.unique's inverse would give).
    k, a, flow, tr = k[keep], a[keep], flow[keep], (np.cumsum(long) - 1)[tr[keep]]
    jac = rotation_jacobian(a[:, 0] + 0.5, a[:, 1] + 0.5, gw, gh, vm.focal_px)  # (N, 2, 3)
    p_turn = np.einsum("nij,nj->ni", jac, turn[k])  # (N, 2) px: what the turn moves each point
    j_sh = jac @ _S  # (N, 2, 3): px per (m of translation × 1/m of inverse depth)
    p_disp = np.einsum("nij,nj->ni", j_sh, disp[k])  # (N, 2)
    p_vel = j_sh[..., :2] * ((vm.t1_ms - vm.t0_ms)[k] / 1000.0)[:, None, None]  # (N, 2, 2)
    moved = np.bincount(tr, np.sum(p_turn**2, 1), n)  # (n,) per corner
    if np.sqrt(moved.sum() / len(k)) < cfg.scene_min_px:
        return float("nan")
    lo, hi = cfg.scene_gain
    gain, vel, rho = 1.0, np.zeros(2), np.zeros(n)
    for _ in range(cfg.scene_iters):
        # Each corner's inverse depth given the gain and the velocity (least squares, ≥ 0).
        rest = flow - gain * p_turn  # (N, 2)
        p_t = p_disp + np.einsum("nij,j->ni", p_vel, vel)  # (N, 2): the translation at 1 m
        num = np.bincount(tr, np.sum(p_t * rest, 1), n)
        den = np.bincount(tr, np.sum(p_t**2, 1), n)
        rho = np.clip(num / np.maximum(den, 1e-18), 0.0, cfg.max_parallax_per_m)
        # The velocity and the gain given the depths: one linear least squares, three unknowns.
        cols = np.concatenate([rho[tr, None, None] * p_vel, p_turn[..., None]], -1)  # (N, 2, 3)
        cols = cols.reshape(-1, 3)
        y = (flow - rho[tr, None] * p_disp).reshape(-1)
        sol = np.linalg.solve(cols.T @ cols + 1e-9 * np.eye(3), cols.T @ y)
        vel, gain = sol[:2], float(np.clip(sol[2], lo, hi))
    p_t = p_disp + np.einsum("nij,j->ni", p_vel, vel)
    left = flow - gain * p_turn - rho[tr, None] * p_t
    # What the tracker's noise alone leaves (σ² per axis and interval) is not the scene's
    # motion: taken out before the comparison, floored at 0 (cfg.scene_noise_px).
    noise = 2.0 * cfg.scene_noise_px**2 * np.bincount(tr, minlength=n)  # (n,) px²
    left_ss = np.maximum(np.bincount(tr, np.sum(left**2, 1), n) - noise, 0.0)
    ratio = np.sqrt(left_ss / np.maximum(moved, 1e-18))
    # The weighted quantile: corners followed longer weigh more.
    order = np.argsort(ratio)
    cum = np.cumsum(np.bincount(tr, minlength=n)[order])
    return float(ratio[order][np.searchsorted(cum, cfg.scene_quantile * cum[-1])])
