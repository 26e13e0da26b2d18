"""Random subjects: head shape and a painted (φ, θ) atlas of relief, albedo and eye lids."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The head is star-shaped about its centre (between the ears, at eye level). Head axes: x forward
# (out of the face), y to the person's left, z up. A direction
# d(φ, θ) = (cosθ cosφ, cosθ sinφ, sinθ)
# has radius E(d)·(1 + relief(φ, θ)), E an ellipsoid's radius along d. All maps are
# (N_THETA, N_PHI) grids; row 0 is the top of the head, column N_PHI/2 the middle of the face.
N_THETA, N_PHI = 256, 512

SKIN_TONES = np.array(  # sRGB, lightest to darkest
    [
        [0.96, 0.84, 0.76],
        [0.90, 0.72, 0.60],
        [0.78, 0.57, 0.42],
        [0.64, 0.45, 0.32],
        [0.48, 0.32, 0.22],
        [0.30, 0.20, 0.14],
    ]
)
HAIR_COLORS = np.array(
    [
        [0.05, 0.04, 0.04],
        [0.18, 0.11, 0.07],
        [0.35, 0.22, 0.12],
        [0.75, 0.60, 0.35],
        [0.55, 0.22, 0.10],
        [0.55, 0.55, 0.55],
        [0.85, 0.85, 0.82],
    ]
)
IRIS_COLORS = np.array(
    [[0.25, 0.15, 0.08], [0.12, 0.08, 0.05], [0.30, 0.45, 0.65], [0.35, 0.45, 0.30]]
)


@dataclass
class Atlas:
    """A subject's head: shape and maps. Maps are float32 (N_THETA, N_PHI[, 3])."""

    axes: np.ndarray  # (3,) ellipsoid half-axes, m
    relief: np.ndarray  # relative radial relief, R = E·(1 + relief)
    albedo_open: np.ndarray  # linear RGB, eyes open
    albedo_closed: np.ndarray  # linear RGB, lids closed
    eye_rel: np.ndarray  # |Δθ| to the eye centre / half-height of the eye there (≥ 1 outside)
    normals: np.ndarray  # (N_THETA, N_PHI, 3) unit outward normals in head axes
    specular: np.ndarray  # per-texel specular strength (skin shine, glasses)
    skin: np.ndarray  # (3,) linear RGB of the bare skin (for the neck)

    @property
    def relief_range(self) -> tuple[float, float]:
        return float(self.relief.min()), float(self.relief.max())


def grid_angles() -> tuple[np.ndarray, np.ndarray]:
    """(φ, θ) at the texel centres, each (N_THETA, N_PHI)."""
    phi = -np.pi + (np.arange(N_PHI) + 0.5) * 2 * np.pi / N_PHI
    theta = np.pi / 2 - (np.arange(N_THETA) + 0.5) * np.pi / N_THETA
    return np.meshgrid(phi, theta)


def ellipsoid_radius(d: np.ndarray, axes: np.ndarray) -> np.ndarray:
    """Radius of the ellipsoid along unit directions d (..., 3)."""
    q = d / axes.astype(d.dtype)
    return 1.0 / np.sqrt(np.sum(q * q, axis=-1))


def _gauss(x: np.ndarray, y: np.ndarray, sx: float, sy: float) -> np.ndarray:
    return np.exp(-0.5 * ((x / sx) ** 2 + (y / sy) ** 2))


def _smooth(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    s = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return s * s * (3 - 2 * s)


def _noise(rng: np.random.Generator, scale: int, stretch: tuple[int, int] = (1, 1)) -> np.ndarray:
    """Smooth value noise in [-1, 1] on the atlas grid: random coarse grid, bilinear upsampled."""
    ny, nx = max(2, N_THETA // (scale * stretch[0])), max(2, N_PHI // (scale * stretch[1]))
    coarse = rng.uniform(-1, 1, (ny + 1, nx + 1))
    yi = np.linspace(0, ny, N_THETA)
    xi = np.linspace(0, nx, N_PHI)
    y0 = np.minimum(yi.astype(int), ny - 1)
    x0 = np.minimum(xi.astype(int), nx - 1)
    fy, fx = (yi - y0)[:, None], (xi - x0)[None, :]
    c = coarse
    return (
        c[y0][:, x0] * (1 - fy) * (1 - fx)
        + c[y0 + 1][:, x0] * fy * (1 - fx)
        + c[y0][:, x0 + 1] * (1 - fy) * fx
        + c[y0 + 1][:, x0 + 1] * fy * fx
    )


def to_linear(srgb: np.ndarray) -> np.ndarray:
    return np.power(np.clip(srgb, 0, 1), 2.2)


def sample_atlas(rng: np.random.Generator) -> Atlas:
    """Draw one subject: head shape, skin, hair, eyes, brows, lips, glasses, beard."""
    phi, th = grid_angles()
    x = phi * np.cos(th)  # horizontal arc-angle on the face
    axes = np.array(
        [rng.uniform(0.095, 0.108), rng.uniform(0.068, 0.080), rng.uniform(0.105, 0.125)]
    )
    d = np.stack([np.cos(th) * np.cos(phi), np.cos(th) * np.sin(phi), np.sin(th)], -1)
    base_r = ellipsoid_radius(d, axes)
    front = _smooth(np.cos(phi), 0.0, 0.6)  # 1 on the face, 0 at the back

    ex, ey = rng.uniform(0.28, 0.36), rng.uniform(0.0, 0.08)  # eye centre (±ex, ey)
    eye_w, eye_h = rng.uniform(0.11, 0.13), rng.uniform(0.035, 0.048)
    nose_len, nose_out = rng.uniform(0.24, 0.34), rng.uniform(0.017, 0.030)
    mouth_y, mouth_w = ey - rng.uniform(0.5, 0.6), rng.uniform(0.2, 0.27)

    # --- relief in metres, then relative to the ellipsoid ------------------------------------
    relief = np.zeros_like(phi)
    tip = ey - nose_len
    prof = np.where(
        th > tip,
        0.006 + (nose_out - 0.006) * np.clip((ey + 0.05 - th) / (ey + 0.05 - tip), 0, 1) ** 1.6,
        nose_out * np.exp(-(((th - tip) / 0.045) ** 2)),
    )
    prof *= th < ey + 0.06
    width = 0.05 + 0.06 * np.clip((ey - th) / nose_len, 0, 1.3)
    relief += prof * np.exp(-0.5 * (x / width) ** 2)
    for s in (-1, 1):
        relief += -0.008 * _gauss(x - s * ex, th - ey, 0.11, 0.07)  # eye socket
        relief += 0.004 * _gauss(x - s * ex, th - ey, 0.05, 0.03)  # eyeball
        relief += 0.005 * _gauss(x - s * ex, th - ey - 0.13, 0.14, 0.04)  # brow ridge
        relief += 0.006 * _gauss(x - s * 0.42, th - ey + 0.25, 0.12, 0.12)  # cheek
        relief += 0.018 * _gauss(phi - s * 1.55, th + 0.05, 0.08, 0.2)  # ear
    relief += 0.004 * _gauss(x, th - mouth_y, mouth_w * 0.8, 0.035)  # lips
    relief += 0.008 * _gauss(x, th + 0.85, 0.16, 0.09)  # chin
    relief -= 0.02 * np.sin(phi) ** 2 * _smooth(-th, 0.2, 1.0)  # jaw narrows towards the chin
    relief *= np.abs(phi) < 1.9  # no relief on the back of the head

    # --- albedo (sRGB while painting) ----------------------------------------------------------
    tone = rng.uniform(0, len(SKIN_TONES) - 1)
    lo = int(tone)
    skin = SKIN_TONES[lo] + (tone - lo) * (SKIN_TONES[min(lo + 1, 5)] - SKIN_TONES[lo])
    skin = np.clip(skin * rng.uniform(0.95, 1.05, 3), 0, 1)
    alb = np.broadcast_to(skin, (*phi.shape, 3)).copy()
    alb *= (1 + 0.06 * _noise(rng, 16))[..., None] * (1 + 0.03 * _noise(rng, 4))[..., None]
    blush = _gauss(x - 0.4, th - ey + 0.25, 0.12, 0.1) + _gauss(x + 0.4, th - ey + 0.25, 0.12, 0.1)
    alb[..., 1:] *= (1 - 0.08 * blush)[..., None]
    lips = _gauss(x, th - mouth_y, mouth_w * 0.75, 0.028) ** 2 > 0.35
    alb[lips] = skin * np.array([0.85, 0.55, 0.55]) * rng.uniform(0.8, 1.0)
    alb[(np.abs(th - mouth_y) < 0.006) & (np.abs(x) < mouth_w * 0.9)] *= 0.45
    for s in (-1, 1):
        alb[_gauss(x - s * 0.05, th - tip + 0.035, 0.018, 0.012) > 0.5] *= 0.35  # nostrils

    hair = HAIR_COLORS[rng.integers(len(HAIR_COLORS))] * rng.uniform(0.85, 1.15)
    for s in (-1, 1):  # eyebrows: arcs above the eyes
        bx = x - s * ex
        by = th - (ey + rng.uniform(0.11, 0.15) - 0.8 * bx**2)
        brow = (np.abs(by) < rng.uniform(0.012, 0.025)) & (np.abs(bx) < 0.16)
        alb[brow] = 0.6 * alb[brow] + 0.4 * hair * 0.7

    style = rng.choice(["bald", "short", "medium", "long"], p=[0.1, 0.4, 0.25, 0.25])
    hairline = rng.uniform(0.42, 0.6) + (0.4 if style == "bald" else 0.0)
    hair_depth = {"bald": 0.0, "short": 0.008, "medium": 0.015, "long": 0.02}[str(style)]
    low = {"bald": 0.2, "short": -0.25, "medium": -0.6, "long": -1.2}[str(style)]
    # Hair above a hairline that drops from the forehead to the neck line at the back.
    line = hairline + (low - hairline) * _smooth(np.abs(phi), 0.9, 2.6)
    line = np.where(
        np.abs(phi) < 1.25, np.maximum(line, hairline - 0.35 * (np.abs(phi) / 1.25) ** 2), line
    )
    hair_mask = th > line + 0.02 * _noise(rng, 8)
    strands = 1 + 0.25 * _noise(rng, 2, (4, 1))
    alb[hair_mask] = hair * strands[hair_mask, None]
    relief += hair_depth * _smooth(th - line, 0.0, 0.08) * (style != "bald")
    if rng.random() < 0.15:  # beard or stubble
        beard = (th < mouth_y + 0.06) & (np.abs(phi) < 1.5) & ~lips
        dens = rng.uniform(0.3, 0.9)
        alb[beard] = (1 - dens) * alb[beard] + dens * hair * strands[beard, None]

    alb_closed = alb.copy()
    # Eyes: almond of half-height eye_h·(1 − (Δx/eye_w)²); eye_rel < openness is visible.
    eye_rel = np.full(phi.shape, 9.0)
    iris = IRIS_COLORS[rng.integers(len(IRIS_COLORS))]
    for s in (-1, 1):
        dx, dy = x - s * ex, th - ey
        half = eye_h * np.clip(1 - (dx / eye_w) ** 2, 1e-3, None)
        inside = np.abs(dx) < eye_w
        rel = np.where(inside, np.abs(dy) / half, 9.0)
        eye_rel = np.minimum(eye_rel, rel)
        rr = np.hypot(dx, dy)
        eye = np.where((rr < 0.045)[..., None], iris, np.array([0.88, 0.86, 0.82]))
        eye = np.where((rr < 0.018)[..., None], np.array([0.02, 0.02, 0.02]), eye)
        m = rel < 1
        alb[m] = eye[m]
        alb[(rel >= 0.85) & (rel < 1.25) & (dy > 0)] *= 0.35  # lashes on the upper lid
        alb_closed[m] = alb_closed[m] * 0.85
        alb_closed[(rel < 0.25) & inside] *= 0.4  # closed lashes line

    spec = np.where(hair_mask, 0.05, 0.25).astype(np.float32)
    if rng.random() < 0.25:  # glasses: frames in front of the face
        frame = rng.uniform(0.0, 0.4, 3)
        gw, gh, thick = eye_w * rng.uniform(1.2, 1.4), eye_h * rng.uniform(2.0, 2.6), 0.015
        for s in (-1, 1):
            dx, dy = x - s * ex, th - ey
            e = (np.abs(dx) / gw) ** 3 + (np.abs(dy) / gh) ** 3
            ring = (e > 1) & (e < (1 + thick / gh) ** 3)
            temple = (
                (np.abs(dy) < 0.008) & (np.abs(phi) > ex + gw) & (np.abs(phi) < 1.5) & (phi * s > 0)
            )
            for m in (ring, temple):
                alb[m] = alb_closed[m] = frame
                relief[m] += 0.01 * front[m]
                spec[m] = 0.6
            lens = e <= 1
            spec[lens] = 0.9
        bridge = (np.abs(x) < ex - gw) & (np.abs(th - ey - 0.01) < 0.008)
        alb[bridge] = alb_closed[bridge] = frame
        relief[bridge] += 0.012

    rel_relief = (relief / base_r).astype(np.float32)
    normals = _normals(rel_relief, base_r, d)
    return Atlas(
        axes=axes,
        relief=rel_relief,
        albedo_open=to_linear(alb).astype(np.float32),
        albedo_closed=to_linear(alb_closed).astype(np.float32),
        eye_rel=eye_rel.astype(np.float32),
        normals=normals,
        specular=spec,
        skin=to_linear(skin).astype(np.float32),
    )


def _normals(rel: np.ndarray, base_r: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Outward unit normals of the surface P = base_r·(1 + rel)·d on the grid."""
    p = (base_r * (1 + rel))[..., None] * d
    dphi = (np.roll(p, -1, axis=1) - np.roll(p, 1, axis=1)) / 2  # periodic in φ
    dth = np.gradient(p, axis=0)
    n = np.cross(dphi, dth)
    n *= np.sign(np.sum(n * d, -1, keepdims=True) + 1e-12)
    n /= np.linalg.norm(n, axis=-1, keepdims=True) + 1e-12
    # At the poles the parameterisation degenerates; the radial direction is a fine normal there.
    bad = np.sum(n * d, -1) < 0.1
    n[bad] = d[bad]
    return n.astype(np.float32)
