"""Ray casting of a subject's star-shaped head: exact silhouettes, occlusion and parallax."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from liveness.synth.atlas import N_PHI, N_THETA, Atlas
from liveness.synth.geometry import ray_ellipsoid

MARCH_STEPS = 8  # samples between the outer and inner bounding ellipsoids
BISECT_STEPS = 6  # refinement of the first crossing: the interval shrinks by 2⁻⁶


@dataclass
class SurfaceHit:
    """Per-ray hit data for the rays that hit (index into the caller's ray array)."""

    index: np.ndarray  # (M,) int
    t: np.ndarray  # (M,) distance along the ray, m
    normal: np.ndarray  # (M, 3) world
    albedo: np.ndarray  # (M, 3) linear RGB
    specular: np.ndarray  # (M,)


def _grid_coords(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Radius, fractional row and column in the atlas for head-frame points (..., 3)."""
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    r = np.sqrt(x * x + y * y + z * z)
    phi = np.arctan2(y, x)
    theta = np.arcsin(np.clip(z / np.maximum(r, 1e-9), -1, 1))
    col = (phi + np.pi) * (N_PHI / (2 * np.pi)) - 0.5
    row = (np.pi / 2 - theta) * (N_THETA / np.pi) - 0.5
    return r, row, col


def bilinear(grid: np.ndarray, row: np.ndarray, col: np.ndarray) -> np.ndarray:
    """Sample an atlas map (N_THETA, N_PHI[, C]) at fractional coordinates; φ wraps around."""
    row = np.clip(row, 0, N_THETA - 1.001)
    r0 = row.astype(np.int64)
    fr = row - r0
    c0f = np.floor(col)
    fc = col - c0f
    c0 = c0f.astype(np.int64) % N_PHI
    c1 = (c0 + 1) % N_PHI
    if grid.ndim == 3:
        fr, fc = fr[..., None], fc[..., None]
    return (
        grid[r0, c0] * (1 - fr) * (1 - fc)
        + grid[r0 + 1, c0] * fr * (1 - fc)
        + grid[r0, c1] * (1 - fr) * fc
        + grid[r0 + 1, c1] * fr * fc
    )


def _excess(atlas: Atlas, p: np.ndarray, smooth: bool = True) -> np.ndarray:
    """Signed radial excess |p| − R(dir p): positive outside the head, negative inside.

    smooth=False looks the relief up at the nearest texel: cheaper, and good enough to find
    which march step crosses the surface; the bisection then uses the bilinear relief.
    """
    r, row, col = _grid_coords(p)
    if smooth:
        rel = bilinear(atlas.relief, row, col)
    else:
        ri = np.clip(row + 0.5, 0, N_THETA - 1).astype(np.int64)
        rel = atlas.relief[ri, (col + 0.5).astype(np.int64) % N_PHI]
    # The ellipsoid's radius along p/|p| is |p| / |p ⊘ axes|, written out per component.
    ax, ay, az = (float(a) for a in atlas.axes)
    q = np.sqrt((p[..., 0] / ax) ** 2 + (p[..., 1] / ay) ** 2 + (p[..., 2] / az) ** 2)
    return r * (1 - (1 + rel) / np.maximum(q, 1e-9))


def cast_head(
    atlas: Atlas,
    r_head: np.ndarray,
    c_head: np.ndarray,
    origin: np.ndarray,
    dirs: np.ndarray,
    openness: float,
) -> SurfaceHit:
    """Intersect world rays (origin (3,), dirs (N, 3) unit) with the head at pose (r_head, c_head).

    openness: eyelid opening in [0, 1] (1 = open, 0 = closed during a blink).
    """
    o = (r_head.T @ (origin - c_head)).astype(np.float32)  # head frame
    v = (dirs @ r_head).astype(np.float32)  # (N, 3): rows are r_headᵀ·dir
    lo, hi = atlas.relief_range
    # The surface lies between these two scaled ellipsoids, so the first crossing is bracketed.
    t_a, t_out, hit_outer = ray_ellipsoid(o, v, atlas.axes * (1 + hi))
    t_b, _, hit_inner = ray_ellipsoid(o, v, atlas.axes * (1 + lo))
    cand = np.nonzero(hit_outer)[0]
    t_a = np.maximum(t_a[cand], 0.0)
    t_end = np.where(hit_inner[cand], t_b[cand], t_out[cand])
    vc = v[cand]
    # March: (M, S) samples; the first sample with negative excess brackets the surface.
    steps = np.linspace(0.0, 1.0, MARCH_STEPS + 1)[1:]
    ts = t_a[:, None] + (t_end - t_a)[:, None] * steps[None]
    f = _excess(atlas, o + ts[..., None] * vc[:, None, :], smooth=False)
    inside = f <= 0
    found = inside.any(axis=1)
    k = np.argmax(inside, axis=1)
    idx = np.nonzero(found)[0]
    k = k[idx]
    t_hi = ts[idx, k]
    t_lo = np.where(k > 0, ts[idx, np.maximum(k - 1, 0)], t_a[idx])
    vh = vc[idx]
    for _ in range(BISECT_STEPS):
        mid = 0.5 * (t_lo + t_hi)
        out = _excess(atlas, o + mid[:, None] * vh) > 0
        t_lo = np.where(out, mid, t_lo)
        t_hi = np.where(out, t_hi, mid)
    t = 0.5 * (t_lo + t_hi)
    _, row, col = _grid_coords(o + t[:, None] * vh)
    albedo_open = bilinear(atlas.albedo_open, row, col)
    if openness < 1.0:
        ri = np.clip(np.rint(row), 0, N_THETA - 1).astype(np.int64)
        ci = np.rint(col).astype(np.int64) % N_PHI
        lid = atlas.eye_rel[ri, ci] >= openness
        albedo = np.where(lid[:, None], bilinear(atlas.albedo_closed, row, col), albedo_open)
    else:
        albedo = albedo_open
    normal = bilinear(atlas.normals, row, col) @ r_head.T  # back to world axes
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True) + 1e-9
    return SurfaceHit(
        index=cand[idx],
        t=t,
        normal=normal,
        albedo=albedo,
        specular=bilinear(atlas.specular, row, col),
    )
