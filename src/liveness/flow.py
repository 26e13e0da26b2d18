"""Optical flow (pyramidal Lucas–Kanade) and the image motion a gyro rotation predicts."""

from __future__ import annotations

import numpy as np

DEFAULT_HFOV_DEG = 65.0  # the contract's front camera: about 60–70° horizontally


def to_gray(frame: np.ndarray, factor: int = 2) -> np.ndarray:
    """(H, W, 3) uint8 -> (H/factor, W/factor) float32 luminance in [0, 1], box-downsampled."""
    g = frame.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32) / 255.0
    h, w = (g.shape[0] // factor) * factor, (g.shape[1] // factor) * factor
    return g[:h, :w].reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))


def _box(img: np.ndarray, r: int) -> np.ndarray:
    """Sum over (2r+1)² windows with edge clamping, via an integral image."""
    p = np.pad(img, r, mode="edge")
    c = np.pad(p.cumsum(0).cumsum(1), ((1, 0), (1, 0)))  # leading zeros: c[i, j] = sum p[:i, :j]
    n = 2 * r + 1
    return c[n:, n:] - c[:-n, n:] - c[n:, :-n] + c[:-n, :-n]


def _warp(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample img at (x + u, y + v), bilinear, clamped at the border."""
    h, w = img.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    x = np.clip(xx + flow[..., 0], 0, w - 1.001)
    y = np.clip(yy + flow[..., 1], 0, h - 1.001)
    x0, y0 = x.astype(np.int64), y.astype(np.int64)
    fx, fy = x - x0, y - y0
    return (
        img[y0, x0] * (1 - fx) * (1 - fy)
        + img[y0, x0 + 1] * fx * (1 - fy)
        + img[y0 + 1, x0] * (1 - fx) * fy
        + img[y0 + 1, x0 + 1] * fx * fy
    )


def lucas_kanade(
    a: np.ndarray, b: np.ndarray, levels: int = 3, radius: int = 3, iters: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """Dense flow (H, W, 2) from a to b (pixels, u right, v down) and a (H, W) confidence.

    Confidence is the structure tensor's smaller eigenvalue: near 0 on blank walls and along
    straight edges, where the flow is not observable.
    """
    pa, pb = [a], [b]
    for _ in range(levels - 1):
        x, y = pa[-1], pb[-1]
        h, w = (x.shape[0] // 2) * 2, (x.shape[1] // 2) * 2
        if h < 8 or w < 8:
            break
        pa.append(x[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)))
        pb.append(y[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)))
    flow = np.zeros((*pa[-1].shape, 2), np.float32)
    conf = np.zeros(a.shape, np.float32)
    for lvl in range(len(pa) - 1, -1, -1):
        A, B = pa[lvl], pb[lvl]
        if flow.shape[:2] != A.shape:
            up = np.repeat(np.repeat(flow, 2, 0), 2, 1) * 2
            flow = np.zeros((*A.shape, 2), np.float32)
            flow[: up.shape[0], : up.shape[1]] = up[: A.shape[0], : A.shape[1]]
        iy, ix = np.gradient(A)
        sxx, syy, sxy = _box(ix * ix, radius), _box(iy * iy, radius), _box(ix * iy, radius)
        det = sxx * syy - sxy * sxy
        ok = det > 1e-9
        safe = np.where(ok, det, 1.0)
        for _ in range(iters):
            # Linearise each pixel's residual about its own current flow, then solve the window
            # for the total flow (solving for an increment would sum neighbours' disagreement).
            it = _warp(B, flow) - A - ix * flow[..., 0] - iy * flow[..., 1]
            sxt, syt = _box(ix * it, radius), _box(iy * it, radius)
            u = np.where(ok, -(syy * sxt - sxy * syt) / safe, flow[..., 0])
            v = np.where(ok, -(sxx * syt - sxy * sxt) / safe, flow[..., 1])
            flow[..., 0] += np.clip(u - flow[..., 0], -1, 1)
            flow[..., 1] += np.clip(v - flow[..., 1], -1, 1)
        if lvl == 0:
            tr = sxx + syy
            conf = 0.5 * (tr - np.sqrt(np.maximum(tr * tr - 4 * det, 0)))
    return flow, conf


def integrate_gyro(imu: np.ndarray, t0_ms: float, t1_ms: float, step_ms: float = 1.0) -> np.ndarray:
    """Small rotation vector (device axes, rad) accumulated between t0 and t1 from imu (N, 7)."""
    n = max(2, int(np.ceil((t1_ms - t0_ms) / step_ms)) + 1)
    t = np.linspace(t0_ms, t1_ms, n)
    w = np.stack([np.interp(t, imu[:, 0], imu[:, 4 + k]) for k in range(3)], -1)
    dt = np.diff(t)[:, None] / 1000.0
    return np.sum(0.5 * (w[1:] + w[:-1]) * dt, axis=0)


def rotation_flow(
    delta: np.ndarray, u: np.ndarray, v: np.ndarray, width: float, height: float, f: float
) -> np.ndarray:
    """Flow (N, 2) at pixels (u, v) when the device turns by the small rotvec delta (any depth).

    A world point p (device axes) appears after the turn at p − δ × p; pixels map to rays with
    the contract's axes (u along −x, v along −y).
    """
    x = -(u - width / 2) / f
    y = -(v - height / 2) / f
    p = np.stack([x, y, np.ones_like(x)], -1)
    q = p - np.cross(delta[None], p)
    u2 = width / 2 - f * q[:, 0] / q[:, 2]
    v2 = height / 2 - f * q[:, 1] / q[:, 2]
    return np.stack([u2 - u, v2 - v], -1)


def focal_for(width: float, hfov_deg: float = DEFAULT_HFOV_DEG) -> float:
    return 0.5 * width / float(np.tan(np.radians(hfov_deg) / 2))
