"""Is the face a plane? Face corners tracked through the clip and one homography's misfit.

A print or a screen is a plane (a bent print nearly one): however the phone moves, every view
of it is one homography of the first. A face is not: as the phone arcs around it, its relief
(nose, cheeks, the round of the head) shifts against its outline (parallax), and it turns,
blinks and changes its shading by itself. `relief` tracks corners of the face region from the
first frame through `relief_frames` frames spread over the clip (pyramidal Lucas–Kanade, each
step checked forwards and backwards) and fits, for every later frame, one homography to where
the corners went (least squares, refitted on the better half). The largest median misfit, as a
percentage of the tracked frame's width, is the cue. It needs no sensors; a replayed video of
a face carries the recorded face's own motion, so it separates prints better than replays
(docs/MOTION.md, "Is the face a plane?").
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from liveness.config import MotionConfig
from liveness.motion.video import VideoMotion, gray_frames, guide_oval

MIN_POINTS = 8  # a homography has 8 degrees of freedom: fewer points fit anything


@dataclass(frozen=True)
class Relief:
    """How far the face region's (or the whole frame's) motion is from one plane's (NaN: not
    measurable)."""

    misfit_pct: float  # largest median misfit over the clip, % of the tracked width
    points: int  # corners that reached the frame where it was largest
    frames: int  # frames tracked
    region: str = "face"  # "face": its own tracks of the face; "frame": the motion check's

    @property
    def measured(self) -> bool:
        return bool(np.isfinite(self.misfit_pct))

    def words(self) -> str:
        if self.region == "frame":
            if not self.measured:
                return "too few points could be followed to tell whether the scene is flat"
            # Medians on tc79 (the training preset), these tracks: docs/MOTION.md.
            return (
                f"the scene's points sit {self.misfit_pct:.2f} % of the frame's width off one "
                f"plane ({self.points} points the motion check followed; on the training preset "
                "a genuine capture's median is about 2.7 %, a print's about 0.8 %)"
            )
        if not self.measured:
            return "too few face points could be followed to tell whether the face is flat"
        return (
            f"the face's points sit {self.misfit_pct:.2f} % of the frame's width off one plane "
            f"({self.points} points; on the training preset a genuine face's median is about "
            "1.1 %, a print's about 0.4 %)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "misfit_pct": round(self.misfit_pct, 3) if self.measured else None,
            "points": self.points,
            "frames": self.frames,
            "region": self.region,
            "summary": self.words(),
        }


def homography_misfits(a: np.ndarray, b: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """(K,) median transfer error (px) of the homography taking points a (P, 2) of the first
    frame to b (K, P, 2) of K later frames, each fitted to the points ok (K, P) marks; NaN where
    fewer than MIN_POINTS are marked (homography_residuals)."""
    e = np.linalg.norm(homography_residuals(a, b, ok), axis=2)
    return np.array([np.median(e[k][ok[k]]) if ok[k].sum() >= MIN_POINTS else np.nan
                     for k in range(len(b))])  # fmt: skip


def homography_residuals(a: np.ndarray, b: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """(K, P, 2) px: where each point went (b) less where the fitted homography puts it.

    Direct linear transform on Hartley-normalised points (the null vector of AᵀA, all K at
    once), fitted to all marked points and then again to the half it fits best (so a few tracks
    on the room behind a print's edge do not decide).
    """
    n = ok.sum(1)
    w = ok.astype(np.float64)

    def norm(p: np.ndarray, wt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # p (K, P, 2), weights wt (K, P): centred, mean distance √2; and the transform (K, 3, 3).
        tot = np.maximum(wt.sum(1), 1.0)[:, None]
        c = np.einsum("kp,kpi->ki", wt, p) / tot
        d = np.linalg.norm(p - c[:, None], axis=2)
        s = np.sqrt(2) / np.maximum((wt * d).sum(1, keepdims=True) / tot, 1e-9)
        t = np.zeros((len(p), 3, 3))
        t[:, 0, 0] = t[:, 1, 1] = s[:, 0]
        t[:, :2, 2] = -s * c
        t[:, 2, 2] = 1.0
        x = np.concatenate([(p - c[:, None]) * s[:, :, None], np.ones((*p.shape[:2], 1))], 2)
        return x, t

    def fit(wt: np.ndarray) -> np.ndarray:
        xa, ta = norm(np.broadcast_to(a, b.shape), wt)
        xb, tb = norm(b, wt)
        z = np.zeros_like(xa)
        # Each correspondence gives two rows of A h = 0 (h: the 9 entries of H, row-major).
        r1 = np.concatenate([xa, z, -xb[..., :1] * xa], 2)  # (K, P, 9)
        r2 = np.concatenate([z, xa, -xb[..., 1:2] * xa], 2)
        ata = (r1 * wt[..., None]).transpose(0, 2, 1) @ r1  # (K, 9, 9): Σ_p wt r1ᵀ r1, r2 alike
        ata += (r2 * wt[..., None]).transpose(0, 2, 1) @ r2
        h = np.linalg.eigh(ata)[1][:, :, 0].reshape(-1, 3, 3)  # the smallest eigenvalue's
        return np.linalg.inv(tb) @ h @ ta

    def residuals(h: np.ndarray) -> np.ndarray:
        p = np.concatenate([np.broadcast_to(a, b.shape), np.ones((*b.shape[:2], 1))], 2)
        q = np.einsum("kij,kpj->kpi", h, p)
        den = np.where(np.abs(q[..., 2:]) < 1e-12, 1e-12, q[..., 2:])
        return b - q[..., :2] / den

    e = np.where(ok, np.linalg.norm(residuals(fit(w)), axis=2), np.inf)
    keep = np.maximum(MIN_POINTS, n // 2)
    rank = np.argsort(np.argsort(e, 1), 1)  # each point's place in its frame's order
    return residuals(fit((rank < keep[:, None]) & ok))


def homography_misfit(a: np.ndarray, b: np.ndarray) -> float:
    """Median transfer error (px) of the homography taking points a (N, 2) to b (N, 2)."""
    return float(homography_misfits(a, b[None], np.ones((1, len(a)), bool))[0])


def face_region(
    box: tuple[float, float, float, float], width: int, height: int, surround: float = 1.0
) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) px, inside a width × height frame: the square about the face box's
    (x0, y0, x1, y1) centre whose half side is (surround + 1) / 2 times the box's larger side:
    the tracked ellipse (surround × the box) and room for the face to move over the clip (a
    hand-held arc moves it a fraction of its own size)."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    half = (surround + 1) / 2 * max(box[2] - box[0], box[3] - box[1], 4.0)
    x0, y0 = max(0, int(np.floor(cx - half))), max(0, int(np.floor(cy - half)))
    x1, y1 = min(width, int(np.ceil(cx + half))), min(height, int(np.ceil(cy + half)))
    if x1 - x0 < 8 or y1 - y0 < 8:  # a box off the frame: the whole frame
        return 0, 0, width, height
    return x0, y0, x1, y1


def track_face(
    grays: list[np.ndarray], oval: tuple[float, float, float, float], cfg: MotionConfig
) -> np.ndarray:
    """(T, P, 2) positions of up to cfg.relief_corners corners found inside `oval` in the first
    frame, followed frame to frame; NaN from the frame where a track is lost or fails the
    forward-backward check (more than cfg.relief_fb_px apart after going there and back)."""
    import cv2

    h, w = grays[0].shape
    cx, cy, rx, ry = oval
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, (round(cx), round(cy)), (round(rx), round(ry)), 0, 0, 360, 255, -1)
    min_dist = max(3, round(min(w, h) / 30))
    p = cv2.goodFeaturesToTrack(
        grays[0], cfg.relief_corners, cfg.corner_quality, min_dist, mask=mask, blockSize=5
    )
    n = 0 if p is None else len(p)
    pos = np.full((len(grays), n, 2), np.nan)
    if n == 0:
        return pos
    pos[0] = p.reshape(-1, 2)
    track: Any = cv2.calcOpticalFlowPyrLK  # (its stubs reject nextPts=None, which it documents)
    win = (cfg.lk_window, cfg.lk_window)
    crit = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.01)
    for t in range(1, len(grays)):
        idx = np.flatnonzero(np.isfinite(pos[t - 1, :, 0]))
        if len(idx) < MIN_POINTS:
            break
        p0 = pos[t - 1, idx].astype(np.float32).reshape(-1, 1, 2)
        p1, st, _ = track(grays[t - 1], grays[t], p0, None, winSize=win, maxLevel=cfg.lk_levels,
                          criteria=crit)  # fmt: skip
        back, st2, _ = track(grays[t], grays[t - 1], p1, None, winSize=win,
                             maxLevel=cfg.lk_levels, criteria=crit)  # fmt: skip
        fb = np.linalg.norm((back - p0).reshape(-1, 2), axis=1)
        ok = (st.ravel() == 1) & (st2.ravel() == 1) & (fb < cfg.relief_fb_px)
        pos[t, idx[ok]] = p1.reshape(-1, 2)[ok]
    return pos


@dataclass(frozen=True)
class ReliefTracks:
    """What the cue was measured on, for a picture of it (liveness.motion.plot)."""

    first: np.ndarray  # (h, w) uint8: the first picked frame, grey at the tracked size
    pos: np.ndarray  # (F, P, 2) tracked px, NaN where lost; F picked frames
    best: int  # index into pos of the frame where the misfit was largest (-1: none)
    relief: Relief


def relief(
    frames: np.ndarray,
    t_ms: np.ndarray,
    cfg: MotionConfig,
    face_box: tuple[float, float, float, float] | None = None,
) -> Relief:
    """The face-flatness cue of one capture (module docstring). frames (T, H, W, 3) uint8 RGB at
    their stamps t_ms (T,); face_box (x0, y0, x1, y1) in the frames' pixels, else the guide
    oval. `relief_frames` frames are taken evenly spread in time, so the cost does not grow
    with the frame rate."""
    return relief_tracks(frames, t_ms, cfg, face_box).relief


def relief_tracks(
    frames: np.ndarray,
    t_ms: np.ndarray,
    cfg: MotionConfig,
    face_box: tuple[float, float, float, float] | None = None,
) -> ReliefTracks:
    """`relief` and the tracks it was measured on."""
    t = np.asarray(t_ms, np.float64)
    want = np.linspace(t[0], t[-1], min(cfg.relief_frames, len(t)))
    pick = np.unique(np.searchsorted(t, want).clip(0, len(t) - 1))
    if len(pick) < 3:
        empty = np.zeros((0, 0), np.uint8)
        return ReliefTracks(empty, np.zeros((0, 0, 2)), -1, Relief(float("nan"), 0, len(pick)))
    ox, oy, crop = 0, 0, False  # the tracked region's origin in the frames' pixels
    if face_box is not None and cfg.relief_side > 0:
        crop = True
        ox, oy, ox1, oy1 = face_region(
            face_box, frames.shape[2], frames.shape[1], cfg.relief_surround
        )
        grays, scale = gray_frames(frames[pick, oy:oy1, ox:ox1], cfg.relief_side)
    else:
        grays, scale = gray_frames(frames[pick], cfg.max_side)
    gh, gw = grays[0].shape
    # The misfit is reported in % of the whole frame's width at the tracked scale, so a crop
    # and the whole frame measure the same quantity.
    width = frames.shape[2] * scale if crop else gw
    if face_box is not None:
        x0, x1 = (face_box[0] - ox) * scale, (face_box[2] - ox) * scale
        y0, y1 = (face_box[1] - oy) * scale, (face_box[3] - oy) * scale
        half = 0.5 * cfg.relief_surround
        oval = ((x0 + x1) / 2, (y0 + y1) / 2, half * (x1 - x0), half * (y1 - y0))
    else:
        oval = guide_oval(gw, gh)
    pos = track_face(grays, oval, cfg)
    return _misfit(grays[0], pos, width, len(pick), cfg.relief_min_points)


def _misfit(
    first: np.ndarray, pos: np.ndarray, width: float, frames: int, min_points: int
) -> ReliefTracks:
    """The cue from tracks pos (F, P, 2) over F picked frames (NaN where lost), first → later
    homographies, each fitted where at least `min_points` tracks reached; `width` the frame's
    width in pos's pixels."""
    later = pos[2:]  # the first step alone shows too little motion
    ok = np.isfinite(later[..., 0]) & np.isfinite(pos[:1, :, 0])
    ok &= ok.sum(1, keepdims=True) >= max(MIN_POINTS, min_points)
    if pos.shape[1] == 0 or not ok.any():
        return ReliefTracks(first, pos, -1, Relief(float("nan"), 0, frames))
    m = 100.0 * homography_misfits(np.nan_to_num(pos[0]), np.nan_to_num(later), ok) / width
    k = int(np.nanargmax(m))
    return ReliefTracks(first, pos, k + 2, Relief(float(m[k]), int(ok[k].sum()), frames))


def motion_relief(
    vm: VideoMotion, cfg: MotionConfig, first: np.ndarray | None = None
) -> ReliefTracks:
    """The cue measured on the motion check's own tracks (MotionConfig.relief_source "motion"):
    every corner it followed from the first frame, over the whole frame, chained interval to
    interval by their numbers (VideoMotion.track_ids), at `relief_frames` frames spread over
    the clip. No tracking of its own. The whole frame, not the face region: the motion check
    spreads its corners over the frame, and a print or a screen that fills the frame is one
    plane there too, while a face before a room is not (docs/MOTION.md "The cue on the motion
    check's tracks"). `first`: the first frame, grey at the tracked size, for a picture."""
    t = np.concatenate([vm.t0_ms[:1], vm.t1_ms])
    want = np.linspace(t[0], t[-1], min(cfg.relief_frames, len(t)))
    pick = np.unique(np.searchsorted(t, want).clip(0, len(t) - 1))
    blank = first if first is not None else np.zeros((vm.size[1], vm.size[0]), np.uint8)
    ids0 = vm.track_ids[0] if vm.track_ids else np.zeros(0, np.int64)
    if len(pick) < 3 or len(ids0) == 0:
        nothing = Relief(float("nan"), 0, len(pick), "frame")
        return ReliefTracks(blank, np.zeros((0, 0, 2)), -1, nothing)
    col = np.full(max(int(i.max(initial=-1)) for i in vm.track_ids) + 1, -1)  # id -> column
    col[ids0] = np.arange(len(ids0))
    pos = np.full((len(t), len(ids0), 2), np.nan)  # (T, P, 2): NaN before and after a track
    for i, ((a, b), ids) in enumerate(zip(vm.tracks, vm.track_ids, strict=True)):
        c = col[ids]
        on = c >= 0
        pos[i, c[on]] = a[on]
        pos[i + 1, c[on]] = b[on]
    got = _misfit(blank, pos[pick], float(vm.size[0]), len(pick), cfg.relief_min_points)
    return dataclasses.replace(got, relief=dataclasses.replace(got.relief, region="frame"))
