"""The agreement at each searched clock offset: a score curve, the wide search coarse to fine.

For every clock offset τ (sensor stamp = frame stamp + τ) the phone's predicted image rotation
over the frame intervals is compared with the video's (agreement.py decides on the curve).
Inside the genuine range every step_ms is scored; beyond it, where the search only has to find
where a shifted stream lines up best, every wide_step_ms is scored and each lobe is then
refined at step_ms. The curve is smooth on that scale (a frame interval is 33–100 ms and the
fast part is what is left after a 120 ms smoothing), so the refined peak is the fine grid's:
docs/MOTION.md, "Speed".
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from liveness.config import MotionConfig
from liveness.motion.inertial import gyro_over
from liveness.motion.parallax import with_parallax
from liveness.motion.series import axis_mix, smoother, wcorr


@dataclass
class Streams:
    """What every offset's score shares: the video's side (K intervals) and the IMU's integrals."""

    t0_ms: np.ndarray  # (K,) interval starts
    t1_ms: np.ndarray  # (K,) interval ends
    rot: np.ndarray  # (K, 3) rad: the video's rotation per interval
    use_bg: np.ndarray  # (K,) bool: measured on the room (else the face region)
    w: np.ndarray  # (K,) interval weights, 0 where the video did not measure or was dropped
    t_imu: np.ndarray  # (N,) ms
    angle: np.ndarray  # (N, 3) the gyro's running integral
    disp: tuple[np.ndarray, np.ndarray] | None  # the displacement's stamps and integral, or None
    smooth: np.ndarray  # (K, K): x − smooth @ x is the fast part
    fast_v: np.ndarray  # (K, 3): the video's fast part, rot − smooth @ rot
    lowpass: np.ndarray | None  # (K, K): what a stabiliser leaves of the prediction, or None


@dataclass
class Curve:
    """The score and its parts at O offsets (sorted by taus)."""

    taus: np.ndarray  # (O,) ms
    g: np.ndarray  # (O, K, 3) the gyro's turn over each shifted interval
    ww: np.ndarray  # (O, K) interval weights (0 where the sensor stream does not reach)
    valid: np.ndarray  # (O,) enough intervals to compare
    pred: np.ndarray  # (O, K, 3) the phone's predicted image rotation (turn + parallax)
    parallax: np.ndarray  # (O, 2) fitted inverse depths, room and face region
    fast_p: np.ndarray  # (O, K, 3) the prediction's fast part
    r_axes: np.ndarray  # (O, 3) correlation per device axis
    r: np.ndarray  # (O,) mixed over axes
    r_fast: np.ndarray  # (O,) the fast part's, mixed
    s: np.ndarray  # (O,) the score: fast and slow mixed; −inf where not valid

    def merged(self, other: Curve) -> Curve:
        """Both curves' offsets, sorted."""
        order = np.argsort(np.concatenate([self.taus, other.taus]), kind="stable")
        parts = {
            f.name: np.concatenate([getattr(self, f.name), getattr(other, f.name)])[order]
            for f in fields(self)
        }
        return Curve(**parts)


def curve(st: Streams, taus: np.ndarray, cfg: MotionConfig) -> Curve:
    """The comparison at each offset in taus (O,), all at once (batched over O)."""
    a, b = st.t0_ms[None] + taus[:, None], st.t1_ms[None] + taus[:, None]  # (O, K)
    g = gyro_over(st.t_imu, st.angle, a, b)
    ww = st.w[None] * ((a >= st.t_imu[0]) & (b <= st.t_imu[-1]))
    valid = (ww > 0).sum(1) >= cfg.min_intervals
    # What the phone's own motion predicts the video shows: its turn, plus its translation
    # seen at each region's fitted depth (parallax; the accelerometer's part).
    pred, parallax = g, np.zeros((len(taus), 2))
    if st.disp is not None:
        t_acc, disp = st.disp
        pred, parallax = with_parallax(st.rot, st.use_bg, g, gyro_over(t_acc, disp, a, b), ww, cfg)
    if st.lowpass is not None:
        pred = st.lowpass @ pred
    fast_p = pred - st.smooth @ pred  # (K, K) @ (O, K, 3), batched
    # Axes weigh by where either side moved: mixed by the prediction alone, a video turning
    # about y under a phone turning about x was judged on x (its sway) alone.
    rot = np.broadcast_to(st.rot, g.shape)
    mix = 0.5 * (axis_mix(pred, ww) + axis_mix(rot, ww))
    r_axes = wcorr(rot, pred, ww)  # (O, 3)
    r = np.sum(mix * r_axes, -1)
    r_fast = np.sum(mix * wcorr(np.broadcast_to(st.fast_v, g.shape), fast_p, ww), -1)
    s = np.where(valid, cfg.detail_share * r_fast + (1 - cfg.detail_share) * r, -np.inf)
    return Curve(taus, g, ww, valid, pred, parallax, fast_p, r_axes, r, r_fast, s)


def search(st: Streams, cfg: MotionConfig) -> Curve:
    """The curve over ±cfg.wide_ms: every cfg.step_ms within the genuine range (±cfg.offset_ms);
    beyond it every cfg.wide_step_ms, each lobe then refined at cfg.step_ms around its best
    coarse offset (a lobe's peak lies within one coarse step of it). wide_step_ms ≤ step_ms scores
    the whole fine grid."""
    fine = np.arange(-cfg.wide_ms, cfg.wide_ms + 1e-9, cfg.step_ms)
    ratio = round(cfg.wide_step_ms / cfg.step_ms)
    if ratio <= 1:
        return curve(st, fine, cfg)
    near = np.abs(fine) <= cfg.offset_ms + 1e-9
    on_coarse = np.round(fine / cfg.step_ms).astype(int) % ratio == 0
    first = curve(st, fine[near | on_coarse], cfg)
    far = np.flatnonzero(np.abs(first.taus) > cfg.offset_ms + 1e-9)
    s = first.s[far]
    if not np.isfinite(s).any():
        return first
    # Every local maximum of the coarse far curve (the lobes: the hand's sway and tremor repeat
    # every ~100 ms) is refined; refining only the best three changed 1 of 1226 tc79 checks.
    padded = np.r_[-np.inf, s, -np.inf]
    peaks = np.flatnonzero((s >= padded[:-2]) & (s >= padded[2:]) & np.isfinite(s))
    centres = first.taus[far[peaks]]
    around = (np.abs(fine[:, None] - centres[None]) < cfg.wide_step_ms - 1e-9).any(1)
    extra = fine[around & ~near & ~on_coarse]
    return first.merged(curve(st, extra, cfg)) if len(extra) else first


def streams(
    vm_t0: np.ndarray,
    vm_t1: np.ndarray,
    rot: np.ndarray,
    use_bg: np.ndarray,
    w: np.ndarray,
    gyro: tuple[np.ndarray, np.ndarray],
    disp: tuple[np.ndarray, np.ndarray] | None,
    cfg: MotionConfig,
    lowpass_ms: float = 0.0,
) -> Streams:
    """The shared pieces: the smoothers over the intervals' mid-times (over the measured ones
    only for the fast part; all of them for a stabiliser's low-pass)."""
    mid = 0.5 * (vm_t0 + vm_t1)
    smooth = smoother(mid, cfg.detail_sigma_ms, w > 0)
    lowpass = smoother(mid, lowpass_ms, np.ones(len(mid), bool)) if lowpass_ms > 0 else None
    fast_v = rot - smooth @ rot
    return Streams(vm_t0, vm_t1, rot, use_bg, w, gyro[0], gyro[1], disp, smooth, fast_v, lowpass)
