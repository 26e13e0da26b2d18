"""The device rotation a video shows, per frame interval: tracked corners and a robust fit.

A rotation of the phone moves every image point by an amount that depends only on its pixel
position and the focal length, not on depth; the room behind the user shows almost pure camera
rotation. Axes: ../shared/CONTRACT.md (u along −x, v along −y, optical axis +z).
"""

from __future__ import annotations

from dataclasses import dataclass, field
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


def column_median(x: np.ndarray) -> np.ndarray:
    """(P, C) -> (C,): each column's median, the values np.median(x, 0) gives (the middle one,
    or the mean of the middle two), by one sort: a twentieth of np.median's time on a few dozen
    rows, which the tracker asks for once per frame interval."""
    s = np.sort(x, 0)
    h = len(s) // 2
    return s[h] if len(s) % 2 else (s[h - 1] + s[h]) / s.dtype.type(2)


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
    # per interval: each of those points' track (P,) int: the same number in the next interval
    # is the same corner followed on (liveness.motion.motion_relief: the scene's flatness)
    track_ids: list[np.ndarray] = field(default_factory=list)


def fit_rotations(
    jac: np.ndarray,
    flow: np.ndarray,
    w0: np.ndarray,
    seg: np.ndarray,
    n_seg: int,
    cfg: MotionConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """Robust least squares flow ≈ J δ per segment, all segments at once (IRLS, Cauchy weights).

    jac (N, 2, 3), flow (N, 2) px and prior weights w0 (N,) of N points; seg (N,) each point's
    segment (an interval's background or face region) in 0..n_seg−1. Returns δ (n_seg, 3) rad
    and a confidence (n_seg,) 0..1 that grows with the number of inliers and falls with a poorly
    conditioned fit (few points, all in a line); 0 where fewer than cfg.min_points.
    """
    delta: np.ndarray = np.zeros((n_seg, 3))
    count = np.bincount(seg, minlength=n_seg)
    if len(flow) == 0:
        return delta, np.zeros(n_seg)
    outer = np.einsum("nri,nrj->nij", jac, jac)  # (N, 3, 3): Jᵀ J per point, both flow rows
    jtf = np.einsum("nri,nr->ni", jac, flow)  # (N, 3)
    w = w0.copy()
    ridge = 1e-9 * np.eye(3)
    for _ in range(cfg.irls_iters):
        # Normal equations (3 × 3 per segment) summed with bincount: one pass for all segments.
        ata = np.stack([np.bincount(seg, w * outer[:, i, j], n_seg) for i in range(3)
                        for j in range(3)], -1).reshape(n_seg, 3, 3)  # fmt: skip
        atb = np.stack([np.bincount(seg, w * jtf[:, i], n_seg) for i in range(3)], -1)
        delta = np.linalg.solve(ata + ridge, atb[..., None])[..., 0]
        r = flow - np.einsum("nri,ni->nr", jac, delta[seg])
        e = np.hypot(r[:, 0], r[:, 1])
        w = w0 / (1.0 + (e / cfg.robust_px) ** 2)
    inlier = e < 2 * cfg.robust_px
    n_in = np.bincount(seg, inlier.astype(np.float64), n_seg)
    ata = np.stack([np.bincount(seg, inlier * outer[:, i, j], n_seg) for i in range(3)
                    for j in range(3)], -1).reshape(n_seg, 3, 3)  # fmt: skip
    ev = np.linalg.eigvalsh(ata / np.maximum(n_in, 1)[:, None, None] + ridge)  # ascending
    cond = np.sqrt(np.maximum(ev[:, 0], 0.0) / np.maximum(ev[:, -1], 1e-24))
    conf = np.minimum(1.0, n_in / (4.0 * cfg.min_points)) * np.minimum(1.0, cond / 0.05)
    enough = (count >= cfg.min_points) & (n_in >= cfg.min_points)
    delta[count < cfg.min_points] = 0.0
    return delta, np.where(enough, conf, 0.0)


def _top_up(
    gray: np.ndarray, kept: np.ndarray, cfg: MotionConfig, min_dist: int
) -> np.ndarray | None:
    """(P, 1, 2) float32: the tracks carried from the last interval, topped up with new corners
    (OpenCV's Shi–Tomasi) at least min_dist px from them when fewer than
    cfg.redetect_share × cfg.max_corners are left; None when there are none to track."""
    import cv2

    if len(kept) >= cfg.redetect_share * cfg.max_corners:
        return kept
    mask = None
    if len(kept):
        mask = np.full(gray.shape, 255, np.uint8)
        for x, y in kept.reshape(-1, 2):
            cv2.circle(mask, (int(x), int(y)), min_dist, 0, -1)
    new = cv2.goodFeaturesToTrack(
        gray, cfg.max_corners - len(kept), cfg.corner_quality, min_dist, mask=mask, blockSize=5
    )
    if new is None:
        return kept if len(kept) else None
    return np.concatenate([kept, new.astype(np.float32)]) if len(kept) else new


def video_motion(
    frames: np.ndarray,
    t_ms: np.ndarray,
    cfg: MotionConfig,
    hfov_deg: float | None = None,
    face_box: tuple[float, float, float, float] | None = None,
) -> VideoMotion:
    """Track corners frame to frame (OpenCV pyramidal Lucas–Kanade) and fit each interval's
    rotation, background and face apart.

    Tracks carry over from one interval to the next, topped up with fresh corners when too few
    are left (KLT): the strongest few dozen corners followed through the clip measure the
    rotation better than twice as many re-detected every frame, whose weak half is mostly noise,
    and cost half as much (docs/MOTION.md, "Tracks that carry over").
    With cfg.lk_seed each carried track's search starts where its own last displacement points
    (new corners: the carried ones' median), which keeps a fast swing over a tiled wall from
    locking onto the wrong tile (docs/MOTION.md, "A tiled wall").
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
    tracks: list[tuple[np.ndarray, np.ndarray]] = []
    track: Any = cv2.calcOpticalFlowPyrLK  # (its stubs reject nextPts=None, which it documents)
    win = (cfg.lk_window, cfg.lk_window)
    crit = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 10, 0.02)
    min_dist = max(3, round(min(gw, gh) / 24))
    kept = np.zeros((0, 1, 2), np.float32)  # tracks alive at the start of the next interval
    kept_ids = np.zeros(0, np.int64)  # and their numbers
    last = np.zeros((0, 2), np.float32)  # and their last displacements (px)
    next_id = 0
    ids: list[np.ndarray] = []
    w0s = []
    for i in range(k):
        tracks.append((np.zeros((0, 2)), np.zeros((0, 2))))
        ids.append(np.zeros(0, np.int64))
        p0 = _top_up(grays[i], kept, cfg, min_dist)
        if p0 is not None:  # new corners come after the kept ones (_top_up): new numbers
            n_new = len(p0) - len(kept)
            p0_ids = np.concatenate([kept_ids, next_id + np.arange(n_new)])
            next_id += n_new
        kept = np.zeros((0, 1, 2), np.float32)
        kept_ids = np.zeros(0, np.int64)
        if p0 is None or len(p0) < cfg.min_points:
            last = np.zeros((0, 2), np.float32)
            continue
        guess, flags = None, 0
        if cfg.lk_seed and len(last):  # carried tracks come first in p0 (_top_up)
            step = np.empty((len(p0), 2), np.float32)
            step[: len(last)] = last
            step[len(last) :] = column_median(last)
            guess = (p0 + step[:, None, :]).astype(np.float32)
            flags = cv2.OPTFLOW_USE_INITIAL_FLOW
        p1, st, err = track(grays[i], grays[i + 1], p0, guess, winSize=win, maxLevel=cfg.lk_levels,
                            criteria=crit, minEigThreshold=cfg.lk_min_eig, flags=flags)  # fmt: skip
        ok = st.ravel() == 1
        a, b = p0.reshape(-1, 2)[ok].astype(np.float64), p1.reshape(-1, 2)[ok].astype(np.float64)
        on = (b[:, 0] >= 0) & (b[:, 1] >= 0) & (b[:, 0] < gw) & (b[:, 1] < gh)
        kept = p1[ok][on].reshape(-1, 1, 2)  # still in the next frame: tracked from there
        kept_ids = p0_ids[ok][on]
        last = (p1 - p0)[ok][on].reshape(-1, 2)  # their displacements: the next search's seed
        tracks[-1] = (a, b)
        ids[-1] = p0_ids[ok]
        w0s.append(1.0 / (1.0 + err.ravel()[ok].astype(np.float64) / 8.0))
    # All intervals' points at once: starts a, ends b (N, 2); segment 2i is interval i's room,
    # 2i + 1 its face region.
    a = np.concatenate([np.zeros((0, 2)), *(x for x, _ in tracks)])  # (one frame: no intervals)
    b = np.concatenate([np.zeros((0, 2)), *(y for _, y in tracks)])
    u, v = a[:, 0] + 0.5, a[:, 1] + 0.5  # pixel centres
    inside = ((u - oval[0]) / oval[2]) ** 2 + ((v - oval[1]) / oval[3]) ** 2 <= 1.0
    seg = np.repeat(2 * np.arange(k), [len(x) for x, _ in tracks]) + inside
    w0 = np.concatenate(w0s) if w0s else np.zeros(0)
    delta, c = fit_rotations(rotation_jacobian(u, v, gw, gh, f), b - a, w0, seg, 2 * k, cfg)
    rot, rot_face, conf, conf_face = delta[0::2], delta[1::2], c[0::2], c[1::2]
    t = np.asarray(t_ms, np.float64)
    return VideoMotion(
        t[:-1], t[1:], rot, conf, rot_face, conf_face, f, (gw, gh), oval, tracks, ids
    )
