"""Parallax: the phone's translation (from the accelerometer) seen at a fitted depth per region.

A camera translation t (device axes) shifts a point at depth Z as a turn would by
(−t_y, t_x, 0)/Z at the image centre (the contract's projection, as rotation_jacobian). Arcs
about the face make the room show less turn than the gyro measured and the face region none or
the opposite; the comparison (liveness.motion.agreement) predicts the video's motion with it.
"""

from __future__ import annotations

import numpy as np

from liveness.config import MotionConfig
from liveness.motion.series import wsum


def translation_as_turn(disp: np.ndarray) -> np.ndarray:
    """(..., 3): a camera translation t (device axes) as the turn it looks like for a point at
    1 m depth at the image centre, (−t_y, t_x, 0): du = f (δy + t_x/Z), dv = f (−δx + t_y/Z)."""
    return np.stack([-disp[..., 1], disp[..., 0], np.zeros_like(disp[..., 0])], -1)


def with_parallax(
    rot: np.ndarray,
    use_bg: np.ndarray,
    g: np.ndarray,
    disp: np.ndarray,
    ww: np.ndarray,
    cfg: MotionConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """The phone's predicted image rotation per offset, its translation included: (O, K, 3) and
    the fitted inverse depths (O, 2) 1/m of the background and the face region.

    A camera translation t (device axes) shifts a point at depth Z as a turn would by
    (−t_y, t_x, 0)/Z: du = f (δy + t_x/Z), dv = f (−δx + t_y/Z) at the image centre (the same
    contract projection as rotation_jacobian). Hand-held moves are arcs about the face, so the
    face and a near room show part of the turn, none, or the opposite. The depth is one number
    per region and capture, fitted by least squares with the gain (video ≈ a·gyro + b·shift)
    and kept within what a room allows (0 to cfg.max_parallax_per_m)."""
    shift = translation_as_turn(disp)  # (O, K, 3)
    regions = np.stack([use_bg, ~use_bg], -1).astype(np.float64)  # (K, 2)
    cols = np.stack([g, shift * regions[None, :, None, 0], shift * regions[None, :, None, 1]], -1)
    sw = np.maximum(ww.sum(1), 1e-12)[:, None, None, None]
    o, k = ww.shape
    cols = cols - wsum(ww, cols.reshape(o, k, 9)).reshape(o, 1, 3, 3) / sw  # centred per axis
    y = np.broadcast_to(rot, g.shape)
    y = y - wsum(ww, y)[:, None] / sw[..., 0]
    scale = np.sqrt(wsum(ww, (cols**2).sum(2))) + 1e-12  # (O, 3): a fair ridge
    cols = (cols / scale[:, None, None, :]).reshape(o, 3 * k, 3)  # rows: (interval, axis)
    wcols = cols * np.repeat(ww, 3, axis=1)[..., None]
    lhs = np.swapaxes(wcols, 1, 2) @ cols + 1e-6 * np.eye(3)  # (O, 3, 3), batched BLAS
    rhs = np.swapaxes(wcols, 1, 2) @ y.reshape(o, 3 * k, 1)
    coef = np.linalg.solve(lhs, rhs)[..., 0] / scale
    gain = coef[:, :1]
    inv_depth = np.where(gain > 0, coef[:, 1:] / np.where(gain > 0, gain, 1.0), 0.0)
    inv_depth = np.clip(inv_depth, 0.0, cfg.max_parallax_per_m)
    per_k = regions @ inv_depth.T  # (K, O): each interval's region's inverse depth
    return g + per_k.T[..., None] * shift, inv_depth
