"""Weighted statistics over a capture's per-interval series (K intervals, 3 device axes).

The motion comparison (agreement.py) evaluates them for every searched clock offset at once:
weights (O, K), series (O, K, 3), batched as matrix products.
"""

from __future__ import annotations

import numpy as np


def wsum(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Σ_k w[..., k] x[..., k, :]: (..., K) weights, (..., K, J) series -> (..., J). A batched
    matrix product: three times faster than the same einsum at these sizes (O ≈ 200, K ≈ 30)."""
    return (w[..., None, :] @ x)[..., 0, :]


def wcorr(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted Pearson correlation along axis −2 of (..., K, 3) series, per last axis (..., 3);
    0 where either side is flat."""
    sw = np.maximum(w.sum(-1), 1e-12)[..., None]  # (..., 1)
    a = a - wsum(w, a)[..., None, :] / sw[..., None]
    b = b - wsum(w, b)[..., None, :] / sw[..., None]
    ab = wsum(w, a * b)
    den = np.sqrt(wsum(w, a * a) * wsum(w, b * b))
    return np.where(den > 1e-18, ab / np.maximum(den, 1e-30), 0.0)


def smoother(tm: np.ndarray, sigma_ms: float, use: np.ndarray) -> np.ndarray:
    """(K, K) row-normalised Gaussian over interval mid-times, over the intervals in `use` (K,)
    only: x − S @ x is the fast part. An interval the video could not measure (its rotation is
    0 or noise) must not leak into its neighbours' fast parts."""
    k = np.exp(-0.5 * ((tm[:, None] - tm[None, :]) / sigma_ms) ** 2) * use[None, :]
    return k / np.maximum(k.sum(1, keepdims=True), 1e-12)


def rms_deg_s(rot: np.ndarray, dt_ms: np.ndarray, w: np.ndarray) -> float:
    """RMS angular speed (deg/s) of per-interval rotations rot (K, 3), weighted."""
    speed2 = np.sum(rot**2, 1) / (dt_ms / 1000.0) ** 2
    return float(np.degrees(np.sqrt((w @ speed2) / max(w.sum(), 1e-12))))


def axis_mix(g: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(..., 3) weights of the device axes: each one's share of a series' weighted variance
    (the axes a side turned about decide; an axis neither turned about is noise)."""
    sw = np.maximum(w.sum(-1), 1e-12)[..., None]
    mean = wsum(w, g) / sw
    var = wsum(w, g * g) / sw - mean**2
    return var / np.maximum(var.sum(-1, keepdims=True), 1e-30)


def fisher_z(r: float | np.ndarray) -> np.ndarray:
    """atanh(r), r clipped to ±0.999: the scale on which a correlation's sampling noise is about
    even (its spread does not shrink as r nears 1, as r's own does)."""
    return np.arctanh(np.clip(r, -0.999, 0.999))
