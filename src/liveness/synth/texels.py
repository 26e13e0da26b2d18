"""Texture lookups as a sensor sees them: mip levels, and trilinear sampling by pixel footprint."""

from __future__ import annotations

import numpy as np


def mip_pyramid(tex: np.ndarray) -> list[np.ndarray]:
    """(S, S, C) texture (S a power of two) -> its box-filtered halvings down to one texel,
    float32, level 0 first: level k averages 2^k × 2^k texels, as a pixel whose footprint
    covers them integrates their light."""
    s = tex.shape[0]
    if tex.shape[1] != s or s & (s - 1):
        raise ValueError(f"mip_pyramid: a square power-of-two texture, not {tex.shape[:2]}")
    mips = [tex.astype(np.float32)]
    while mips[-1].shape[0] > 1:
        m = mips[-1]
        mips.append(0.25 * (m[0::2, 0::2] + m[1::2, 0::2] + m[0::2, 1::2] + m[1::2, 1::2]))
    return mips


def bilinear(tex: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(N, C): `tex` (S, S, C) at (x, y) (N,) in texture units ([0, 1] across the texture,
    texel centres at (i + 0.5) / S), clamped at its edges."""
    s = tex.shape[0]
    fx, fy = np.clip(x * s - 0.5, 0, s - 1), np.clip(y * s - 0.5, 0, s - 1)
    x0, y0 = np.floor(fx).astype(np.int64), np.floor(fy).astype(np.int64)
    x1, y1 = np.minimum(x0 + 1, s - 1), np.minimum(y0 + 1, s - 1)
    ax, ay = (fx - x0)[:, None].astype(np.float32), (fy - y0)[:, None].astype(np.float32)
    top = tex[y0, x0] + ax * (tex[y0, x1] - tex[y0, x0])
    bottom = tex[y1, x0] + ax * (tex[y1, x1] - tex[y1, x0])
    return top + ay * (bottom - top)


def trilinear(
    mips: list[np.ndarray], x: np.ndarray, y: np.ndarray, level: np.ndarray
) -> np.ndarray:
    """(N, C): the texture at (x, y), bilinear within the two mip levels around `level` (N,)
    (log2 of the footprint in level-0 texels; clamped to the pyramid) and linear between."""
    top = len(mips) - 1
    level = np.clip(level, 0.0, top)
    lo = np.floor(level).astype(np.int64)
    w_hi = (level - lo)[:, None].astype(np.float32)
    out = np.zeros((len(x), mips[0].shape[2]), np.float32)
    for k in np.unique(lo):
        sel = lo == k
        a = bilinear(mips[k], x[sel], y[sel])
        b = bilinear(mips[min(int(k) + 1, top)], x[sel], y[sel])
        out[sel] = a + w_hi[sel] * (b - a)
    return out
