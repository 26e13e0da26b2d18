"""The device rotation a video shows, per frame interval: tracked corners and a robust fit.

A rotation of the phone moves every image point by an amount that depends only on its pixel
position and the focal length, not on depth; the room behind the user shows almost pure camera
rotation. Axes: ../shared/CONTRACT.md (u along −x, v along −y, optical axis +z).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from liveness.config import MotionConfig


def focal_px(width: float, hfov_deg: float) -> float:
    """Pinhole focal length in pixels for an image `width` px wide seeing `hfov_deg`."""
    return 0.5 * width / float(np.tan(np.radians(hfov_deg) / 2))


def rotation_jacobian(
    u: np.ndarray, v: np.ndarray, width: float, height: float, f: float
) -> np.ndarray:
    """(N, 2, 3): d(flow)/d(δ) at pixels (u, v) for a small device rotation δ (rad, device axes).

    From the contract's projection: the ray of pixel (u, v) is p = (x, y, 1) with
    x = −(u − cx)/f, y = −(v − cy)/f; after the device turns by δ a world point reads
    p' = p − δ × p, and u' = cx − f p'_x / p'_z (v' likewise). To first order in δ:
      du = f (δy (1 + x²) − δx x y − δz y),   dv = f (−δx (1 + y²) + δy x y + δz x).
    """
    x = -(np.asarray(u, np.float64) - width / 2) / f
    y = -(np.asarray(v, np.float64) - height / 2) / f
    du = np.stack([-x * y, 1 + x * x, -y], -1)
    dv = np.stack([-(1 + y * y), x * y, x], -1)
    return f * np.stack([du, dv], 1)


def gray_frames(frames: np.ndarray, max_side: int) -> tuple[list[np.ndarray], float]:
    """(T, H, W, 3) uint8 RGB -> grey uint8 frames no larger than max_side, and the scale used."""
    import cv2

    h, w = frames.shape[1:3]
    scale = min(1.0, max_side / max(h, w))
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    out = []
    for f in frames:
        g = cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY)
        out.append(g if scale == 1.0 else cv2.resize(g, size, interpolation=cv2.INTER_AREA))
    return out, size[0] / w


def guide_oval(width: float, height: float) -> tuple[float, float, float, float]:
    """The page's face guide as (cx, cy, rx, ry) px: where the face is when no box is known."""
    return width / 2, height / 2, 0.3 * width, 0.3 * height


@dataclass
class VideoMotion:
    """The device rotation the video shows, per frame interval (K = frames − 1)."""

    t0_ms: np.ndarray  # (K,) interval starts (frame stamps)
    t1_ms: np.ndarray  # (K,) interval ends
    rot: np.ndarray  # (K, 3) rad, device axes: background rotation (depth-free)
    conf: np.ndarray  # (K,) 0..1: how well the background constrained the fit
    rot_face: np.ndarray  # (K, 3) rad: the same fit on the face region (head motion mixes in)
    conf_face: np.ndarray  # (K,)
    focal_px: float  # at the tracked resolution
    size: tuple[int, int]  # tracked (width, height)
    oval: tuple[float, float, float, float]  # face region (cx, cy, rx, ry), tracked pixels
    tracks: list[tuple[np.ndarray, np.ndarray]]  # per interval: points (P, 2) before, after


def _fit_rotation(
    jac: np.ndarray, flow: np.ndarray, w0: np.ndarray, cfg: MotionConfig
) -> tuple[np.ndarray, float]:
    """Robust least squares flow ≈ J δ (IRLS, Cauchy weights): δ (3,) and a confidence 0..1.

    jac (N, 2, 3), flow (N, 2) px, w0 (N,) prior weights. The confidence grows with the number of
    inliers and falls with the residual and a poorly conditioned fit (few points, all in a line).
    """
    if len(flow) < cfg.min_points:
        return np.zeros(3), 0.0
    a = jac.reshape(-1, 3)
    b = flow.reshape(-1)
    w = np.repeat(w0, 2)
    delta = np.zeros(3)
    for _ in range(cfg.irls_iters):
        # Normal equations (3 × 3): as exact as lstsq here and ~10× cheaper per interval.
        aw = a * w[:, None]
        delta = np.linalg.solve(aw.T @ a + 1e-9 * np.eye(3), aw.T @ b)
        r = (b - a @ delta).reshape(-1, 2)
        e = np.hypot(r[:, 0], r[:, 1])
        w = np.repeat(w0 / (1.0 + (e / cfg.robust_px) ** 2), 2)
    inlier = e < 2 * cfg.robust_px
    n_in = int(inlier.sum())
    if n_in < cfg.min_points:
        return delta, 0.0
    ai = a[np.repeat(inlier, 2)]
    ev = np.linalg.eigvalsh(ai.T @ ai / n_in)  # squared singular values, ascending
    cond = float(np.sqrt(max(ev[0], 0.0) / max(ev[-1], 1e-24)))  # ~0: the axes are not told apart
    conf = min(1.0, n_in / (4.0 * cfg.min_points)) * min(1.0, cond / 0.05)
    return delta, conf


def video_motion(
    frames: np.ndarray,
    t_ms: np.ndarray,
    cfg: MotionConfig,
    hfov_deg: float | None = None,
    face_box: tuple[float, float, float, float] | None = None,
) -> VideoMotion:
    """Track corners frame to frame (OpenCV pyramidal Lucas–Kanade, re-detected every frame so
    each interval has fresh points) and fit each interval's rotation, background and face apart.

    face_box (x0, y0, x1, y1) in the frames' pixels; without it, the page's guide oval.
    hfov_deg: the camera's horizontal field of view when known (meta.json), else cfg's prior.
    """
    import cv2

    grays, scale = gray_frames(frames, cfg.max_side)
    gh, gw = grays[0].shape
    f = focal_px(gw, hfov_deg or cfg.hfov_deg)
    if face_box is not None:
        x0, y0, x1, y1 = (c * scale for c in face_box)
        oval = ((x0 + x1) / 2, (y0 + y1) / 2, 0.5 * (x1 - x0) * 1.2, 0.5 * (y1 - y0) * 1.3)
    else:
        oval = guide_oval(gw, gh)
    k = len(grays) - 1
    rot, rot_face = np.zeros((k, 3)), np.zeros((k, 3))
    conf, conf_face = np.zeros(k), np.zeros(k)
    tracks: list[tuple[np.ndarray, np.ndarray]] = []
    track: Any = cv2.calcOpticalFlowPyrLK  # (its stubs reject nextPts=None, which it documents)
    win = (cfg.lk_window, cfg.lk_window)
    crit = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 10, 0.02)
    min_dist = max(3, round(min(gw, gh) / 24))
    for i in range(k):
        tracks.append((np.zeros((0, 2)), np.zeros((0, 2))))
        p0 = cv2.goodFeaturesToTrack(
            grays[i], cfg.max_corners, cfg.corner_quality, min_dist, blockSize=5
        )
        if p0 is None or len(p0) < cfg.min_points:
            continue
        p1, st, err = track(
            grays[i], grays[i + 1], p0, None, winSize=win, maxLevel=cfg.lk_levels, criteria=crit
        )
        ok = st.ravel() == 1
        a, b = p0.reshape(-1, 2)[ok].astype(np.float64), p1.reshape(-1, 2)[ok].astype(np.float64)
        tracks[-1] = (a, b)
        if len(a) < cfg.min_points:
            continue
        u, v = a[:, 0] + 0.5, a[:, 1] + 0.5  # pixel centres
        jac = rotation_jacobian(u, v, gw, gh, f)
        w0 = 1.0 / (1.0 + err.ravel()[ok].astype(np.float64) / 8.0)
        inside = ((u - oval[0]) / oval[2]) ** 2 + ((v - oval[1]) / oval[3]) ** 2 <= 1.0
        for sel, out_r, out_c in ((~inside, rot, conf), (inside, rot_face, conf_face)):
            d, c = _fit_rotation(jac[sel], b[sel] - a[sel], w0[sel], cfg)
            out_r[i], out_c[i] = d, c
    t = np.asarray(t_ms, np.float64)
    return VideoMotion(t[:-1], t[1:], rot, conf, rot_face, conf_face, f, (gw, gh), oval, tracks)
