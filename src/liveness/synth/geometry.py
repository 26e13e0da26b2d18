"""The contract's front camera and ray intersections with simple surfaces."""

from __future__ import annotations

import numpy as np

# Arrays named R_* are rotation matrices whose columns are the rotated frame's axes expressed in
# the outer frame (so R_dev_to_world @ v_dev = v_world). Points are (..., 3) float arrays.


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Device-to-world rotation of a phone at `eye` whose front camera (+z) looks at `target`.

    The contract's device frame: z out of the screen toward the user (the camera's optical axis),
    y toward the top edge, x = y × z toward the right edge.
    """
    z = np.asarray(target, float) - np.asarray(eye, float)
    z /= np.linalg.norm(z)
    y = np.asarray(up, float) - np.dot(up, z) * z
    y /= np.linalg.norm(y)
    x = np.cross(y, z)
    return np.stack([x, y, z], axis=1)


def focal_px(width: int, hfov_deg: float) -> float:
    """Focal length in pixels for a horizontal field of view."""
    return 0.5 * width / np.tan(np.radians(hfov_deg) / 2.0)


def pixel_rays(width: int, height: int, f: float) -> np.ndarray:
    """(H, W, 3) unit ray directions in device axes through each pixel centre.

    Frames are stored unmirrored: image columns u run along device −x, rows v along device −y.
    """
    u = np.arange(width) + 0.5 - width / 2.0
    v = np.arange(height) + 0.5 - height / 2.0
    uu, vv = np.meshgrid(u, v)
    d = np.stack([-uu / f, -vv / f, np.ones_like(uu)], axis=-1)
    return d / np.linalg.norm(d, axis=-1, keepdims=True)


def project(p_dev: np.ndarray, f: float, width: int, height: int) -> np.ndarray:
    """Project (..., 3) points in device axes to (..., 2) pixel coordinates (u, v)."""
    z = p_dev[..., 2]
    u = width / 2.0 - f * p_dev[..., 0] / z
    v = height / 2.0 - f * p_dev[..., 1] / z
    return np.stack([u, v], axis=-1)


def ray_ellipsoid(
    o: np.ndarray, d: np.ndarray, axes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entry and exit distances of rays o + t·d (o (3,) or (N, 3), d (N, 3)) with an
    origin-centred ellipsoid.

    Returns (t_in, t_out, hit); t_in/t_out are +inf where the ray misses.
    """
    # Scaling space by 1/axes turns the ellipsoid into the unit sphere.
    os_, ds = o / axes, d / axes  # o may be one shared origin (3,): then c is a scalar
    a = ds[:, 0] ** 2 + ds[:, 1] ** 2 + ds[:, 2] ** 2
    b = os_[..., 0] * ds[:, 0] + os_[..., 1] * ds[:, 1] + os_[..., 2] * ds[:, 2]
    c = os_[..., 0] ** 2 + os_[..., 1] ** 2 + os_[..., 2] ** 2 - 1.0
    disc = b * b - a * c
    hit = disc > 0
    sq = np.sqrt(np.where(hit, disc, 0.0))
    t_in = np.where(hit, (-b - sq) / a, np.inf)
    t_out = np.where(hit, (-b + sq) / a, np.inf)
    hit &= t_out > 0
    return t_in, t_out, hit


def ray_plane(o: np.ndarray, d: np.ndarray, point: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Distance t along rays (N, 3) to a plane; +inf for parallel rays or hits behind."""
    denom = d @ normal
    t = ((point - o) @ normal) / np.where(np.abs(denom) < 1e-12, 1e-12, denom)
    return np.where((np.abs(denom) < 1e-12) | (t <= 0), np.inf, t)
