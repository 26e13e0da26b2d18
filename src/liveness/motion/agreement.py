"""Motion agreement: the camera rotation the video shows against the rotation the gyro measured.

A hand-held phone's rotation moves every image point by an amount that depends only on its pixel
position and the focal length, not on depth; the distant background shows almost pure camera
rotation. So the rotation fitted to the tracked background points, per frame interval, must
follow the gyroscope integrated over the same interval, within the small clock offset a genuine
capture has between frame and sensor stamps. An injected stream does not: it was filmed by
another phone moving another way (or resting), or it carries a genuine recording's IMU that no
longer lines up in time. Axes and units: ../shared/CONTRACT.md (u along −x, v along −y).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from liveness.config import MotionConfig
from liveness.motion.inertial import device_displacement, gyro_angle, gyro_over
from liveness.motion.offsets import search, streams
from liveness.motion.parallax import translation_as_turn
from liveness.motion.rigid import scene_misfit
from liveness.motion.series import fisher_z, rms_deg_s, wsum
from liveness.motion.video import VideoMotion, video_motion


@dataclass
class Agreement:
    """How the video's rotation follows the gyro's; `status` is the finding in one word."""

    status: str  # agrees | disagrees | no_motion | no_sensors | unreliable
    score: float  # 0..1, higher = the video follows the phone (NaN without sensors)
    offset_ms: float  # best IMU-minus-frame clock offset within the genuine range
    r: float  # correlation of the per-interval rotations (all axes) at that offset
    r_axes: list[float]  # the same per device axis x, y, z
    r_detail: float  # of the fast part only (sway, tremor, move onsets): scale-free
    gain: float  # video rotation / gyro rotation (≈1 for pure rotation at the right focal)
    residual: float  # ‖video − gain·gyro‖² / ‖video‖² at the best offset
    video_deg_s: float  # motion energy: RMS angular speed the video shows
    gyro_deg_s: float  # and that the gyro measured
    wide_offset_ms: float  # best offset over the wide search
    wide_r: float  # the agreement (slow and fast parts mixed, as score) there
    coverage: float  # share of intervals whose video fit was confident
    findings: list[str]  # codes, see FINDINGS
    dropped: int = 0  # intervals set aside as tracking failures (cfg.outlier_factor)
    parallax_per_m: list[float] = field(default_factory=lambda: [0.0, 0.0])  # 1/depth: room, face
    # The room's inverse depth (1/m) with its turn taken as the gyro's: how far the room
    # region's motion beyond the phone's turn follows the phone's translation. NaN where not
    # measured (too few room intervals, no translation); see room_inverse_depth.
    room_per_m: float = float("nan")
    # How far the scene's best-explained corners move beyond what the phone's own turn and
    # translation explain at any depth (liveness.motion.rigid): a room holds still, a screen
    # replaying a recording does not. NaN where not measured (MotionConfig.scene off, too few
    # long tracks, no turn).
    scene_misfit: float = float("nan")
    video: VideoMotion | None = field(default=None, repr=False)  # what it was measured on

    def words(self) -> str:
        """One sentence for people: what was seen, with the numbers."""
        base = FINDINGS.get(self.status, self.status)
        if self.status in ("no_sensors", "unreliable", "no_motion"):
            return base
        nums = f"r = {self.r:.2f} at {self.offset_ms:+.0f} ms"
        extra = [FINDINGS[f] for f in self.findings if f in FINDINGS and f != self.status]
        if self.dropped:
            extra.append(f"{self.dropped} frame interval(s) the tracking lost set aside")
        return f"{base}: {nums}" + (f" ({'; '.join(extra)})" if extra else "")

    def to_dict(self) -> dict[str, Any]:
        def rnd(x: float, n: int = 3) -> float | None:
            return round(float(x), n) if np.isfinite(x) else None

        return {
            "status": self.status,
            "agrees": self.status == "agrees",
            "score": rnd(self.score),
            "words": self.words(),
            "offset_ms": rnd(self.offset_ms, 1),
            "r": rnd(self.r),
            "r_axes": [rnd(x) for x in self.r_axes],
            "r_detail": rnd(self.r_detail),
            "gain": rnd(self.gain),
            "residual": rnd(self.residual),
            "video_deg_s": rnd(self.video_deg_s, 2),
            "gyro_deg_s": rnd(self.gyro_deg_s, 2),
            "wide_offset_ms": rnd(self.wide_offset_ms, 1),
            "wide_r": rnd(self.wide_r),
            "coverage": rnd(self.coverage),
            "findings": list(self.findings),
            "intervals_dropped": self.dropped,
            "parallax_per_m": [rnd(x, 2) for x in self.parallax_per_m],
            "room_per_m": rnd(self.room_per_m, 2),
            "scene_misfit": rnd(self.scene_misfit),
        }


FINDINGS = {
    "agrees": "the video's motion follows the phone's",
    "disagrees": "the video's motion does not follow the phone's",
    "no_motion": "the phone hardly moved: move it as asked and try again",
    "no_sensors": "no motion sensors: judged on video only",
    "unreliable": "too little texture or too few frames to measure the video's motion",
    "low_correlation": "the rotations do not correlate",
    "offset": "they line up only when the sensor stream is shifted beyond a genuine clock offset",
    "video_moves_phone_rests": "the video moves while the phone rests",
    "phone_moves_video_still": "the phone moves while the video is still",
    "gain": "the video turns by a different amount than the phone",
    "gain_impossible": "by an amount no camera explains (a sensor in other units?)",
    "imu_gap": "the sensor stream does not span the video",
    "stabilised": "the video looks stabilised: compared with the phone's motion smoothed alike",
}


def _nan_agreement(status: str, video_deg_s: float = np.nan, gyro_deg_s: float = np.nan,
                   coverage: float = np.nan) -> Agreement:  # fmt: skip
    nan = float("nan")
    return Agreement(status, nan, nan, nan, [nan] * 3, nan, nan, nan, video_deg_s, gyro_deg_s,
                     nan, nan, coverage, [status], parallax_per_m=[nan, nan])  # fmt: skip


@dataclass
class _Pass:
    """One comparison and what compare() needs to decide on another."""

    agreement: Agreement
    resid: np.ndarray | None = None  # (K,) ‖video − gain·prediction‖ at the chosen offset
    used: np.ndarray | None = None  # (K,) bool: intervals that entered
    fast_ratio: float = float("nan")  # the video's share of the fast motion / of the slow
    # rigid.scene_misfit's inputs at the chosen offset: the gyro's turn and the displacement
    # over each interval (K, 3), and the intervals the sensor stream spans (K,); None without
    # the accelerometer's translation
    scene: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


def compare(vm: VideoMotion, imu: np.ndarray | None, cfg: MotionConfig) -> Agreement:
    """The video's rotation against the gyro's (see _compare). A capture that disagrees gets
    two more looks, each for one thing genuine captures do:

    - stabilised video: if the video shows much less of the phone's fast motion than of its
      slow motion (fast_ratio < cfg.stabilised_ratio), it is compared against the gyro smoothed
      over cfg.stabilised_ms, as an electronic stabiliser leaves the image; it counts only if
      it then agrees ("stabilised" in the findings);
    - lost intervals: without the few intervals whose residual is far above the rest's (a
      frame pair where the tracking failed, a spike no hand makes), at most
      cfg.outlier_share of them, so a stream that does not follow the phone stays one that
      does not.

    With cfg.scene, the look it keeps also measures how far the scene moves by itself
    (Agreement.scene_misfit, liveness.motion.rigid), once.
    """
    chosen = _looks(vm, imu, cfg)
    if cfg.scene and chosen.scene is not None:
        chosen.agreement.scene_misfit = scene_misfit(vm, *chosen.scene, cfg)
    return chosen.agreement


def _looks(vm: VideoMotion, imu: np.ndarray | None, cfg: MotionConfig) -> _Pass:
    """compare()'s looks; the one it keeps."""
    # The IMU's running integrals, once for every look below: the gyro's turn, and the
    # camera's displacement (accelerometer) when the translation is modelled.
    sensed = None
    if imu is not None and len(imu) >= 2:
        sensed = (gyro_angle(imu), device_displacement(imu) if cfg.translation else None)
    first = _compare(vm, sensed, cfg, None)
    if first.agreement.status != "disagrees" or first.resid is None or first.used is None:
        return first
    if cfg.stabilised_ms > 0 and first.fast_ratio < cfg.stabilised_ratio:
        smooth = _compare(vm, sensed, cfg, None, cfg.stabilised_ms)
        if smooth.agreement.status == "agrees":
            smooth.agreement.findings.append("stabilised")
            return smooth
    e, use = first.resid, first.used
    med = float(np.median(e[use])) if use.any() else 0.0
    bad = use & (e > cfg.outlier_factor * med)
    if med <= 0 or not 0 < bad.sum() <= cfg.outlier_share * use.sum():
        return first
    b = _compare(vm, sensed, cfg, bad)
    b.agreement.dropped = int(bad.sum())
    return b


# The IMU as the comparison reads it: the gyro's running integral (stamps, angle) and the
# displacement's (inertial.py), the latter None when the translation is not modelled.
Sensed = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray] | None]


def compared_fits(
    vm: VideoMotion, cfg: MotionConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Which of each interval's fits the comparison reads: the background's where it is
    confident (cfg.min_conf), else the face region's, at cfg.face_weight (the head moves by
    itself too). Returns use_bg (K,) bool, the rotations read (K, 3) rad, their weights (K,)
    and ok (K,) bool: the intervals where the fit read is confident enough to count at all."""
    use_bg = vm.conf >= cfg.min_conf
    rot = np.where(use_bg[:, None], vm.rot, vm.rot_face)
    w = np.where(use_bg, vm.conf, cfg.face_weight * vm.conf_face)
    return use_bg, rot, w, w >= cfg.min_conf * cfg.face_weight


def _compare(
    vm: VideoMotion,
    sensed: Sensed | None,
    cfg: MotionConfig,
    drop: np.ndarray | None,
    lowpass_ms: float = 0.0,
) -> _Pass:
    """The video's rotation against the gyro's over the same intervals, the clock offset searched
    (within cfg.offset_ms: genuine; to cfg.wide_ms: to find a shifted stream).

    Correlation is taken per device axis (the video's gain differs per axis: an arc around the
    face shows less turn in the background than a turn in place) and mixed by where the phone
    turned; the same on the fast part (what is left after a cfg.detail_sigma_ms smoothing:
    sway, tremor, the onsets of moves), which nobody can copy from a recording of another move.
    drop (K,): intervals left out of the comparison. lowpass_ms > 0: the prediction is
    smoothed by a Gaussian of that width first (what a stabiliser leaves of the phone's turn).
    """
    dt = vm.t1_ms - vm.t0_ms
    use_bg, rot, w, ok = compared_fits(vm, cfg)
    coverage = float(ok.mean()) if len(ok) else 0.0
    video_deg_s = rms_deg_s(rot[ok], dt[ok], np.ones(int(ok.sum()))) if ok.any() else float("nan")
    if drop is not None:
        ok = ok & ~drop  # measured, but left out of the comparison
    if sensed is None:
        return _Pass(_nan_agreement("no_sensors", video_deg_s, coverage=coverage))
    (t_imu, angle), disp = sensed
    inside = (vm.t0_ms >= t_imu[0]) & (vm.t1_ms <= t_imu[-1])
    g0 = gyro_over(t_imu, angle, vm.t0_ms, vm.t1_ms)
    gyro_deg_s = (
        rms_deg_s(g0[inside], dt[inside], np.ones(int(inside.sum()))) if inside.any() else 0.0
    )
    if ok.sum() < cfg.min_intervals:
        return _Pass(_nan_agreement("unreliable", video_deg_s, gyro_deg_s, coverage))
    if gyro_deg_s < cfg.min_motion_deg_s and video_deg_s < cfg.min_motion_deg_s:
        return _Pass(_nan_agreement("no_motion", video_deg_s, gyro_deg_s, coverage))
    st = streams(vm.t0_ms, vm.t1_ms, rot, use_bg, w * ok, (t_imu, angle), disp, cfg, lowpass_ms)
    c = search(st, cfg)  # every offset's score (O,), coarse to fine beyond the genuine range
    taus, s, valid, ww, g, pred = c.taus, c.s, c.valid, c.ww, c.g, c.pred
    if not valid.any():
        return _Pass(_nan_agreement("unreliable", video_deg_s, gyro_deg_s, coverage))
    near = valid & (np.abs(taus) <= cfg.offset_ms + 1e-9)
    i = int(np.argmax(np.where(near, s, -np.inf))) if near.any() else int(np.argmax(s))
    # Where the streams line up: the wide search's best by the same score. How much better it
    # is than the in-range best is judged on Fisher's z (atanh), the scale on which a
    # correlation's noise is even: 0.98 against 0.94 is a clear peak, 0.71 against 0.68 is
    # noise, though both differ by 0.03 (docs/MOTION.md, "Where the streams line up").
    j = int(np.argmax(s))
    s_in = float(s[i])
    lead = max(0.0, float(s[j]) - s_in)
    lead_z = max(0.0, float(fisher_z(s[j]) - fisher_z(s_in)))
    wi, gi = ww[i], pred[i]
    gg = float(np.sum(wi[:, None] * gi**2))
    gain = float(np.sum(wi[:, None] * rot * gi) / gg) if gg > 0 else 0.0
    vv = float(np.sum(wi[:, None] * rot**2))
    res = float(np.sum(wi[:, None] * (rot - gain * gi) ** 2) / max(vv, 1e-18))
    # A genuine capture's sensor stream spans its video; one that covers only part of it at
    # every genuine offset was recorded at another time.
    imu_cov = float((wi > 0).sum() / max(ok.sum(), 1))
    findings = []
    if imu_cov < cfg.min_imu_coverage:
        findings.append("imu_gap")
    if gyro_deg_s < cfg.still_deg_s <= video_deg_s / cfg.still_ratio:
        findings.append("video_moves_phone_rests")
    if video_deg_s < cfg.still_deg_s <= gyro_deg_s / cfg.still_ratio:
        findings.append("phone_moves_video_still")
    # The best alignment lies beyond a genuine clock offset: by a margin, or the in-range best
    # sits on the range's edge and the peak is outside (half the margin is
    # then enough), and it is a clear peak: noise has its best somewhere too.
    at_edge = abs(taus[i]) >= cfg.offset_ms - cfg.step_ms / 2
    margin = cfg.offset_margin_z / 2 if at_edge else cfg.offset_margin_z
    if abs(taus[j]) > cfg.offset_ms and lead_z > margin and s[j] >= cfg.offset_min_score:
        findings.append("offset")
    if s_in < cfg.min_score:
        findings.append("low_correlation")
    if not cfg.gain_range[0] <= gain <= cfg.gain_range[1]:
        findings.append("gain")
    # One number for ranking and fusion: the in-range agreement less what the wide search found
    # better elsewhere and less the clock offset's prior at the offset chosen (on Fisher's z, or
    # on r for files calibrated that way: cfg.lead_scale); a side resting while the other moves
    # pins it to 0.
    prior = cfg.offset_prior * (float(taus[i]) / cfg.offset_ms) ** 2
    if cfg.lead_scale == "z":
        kept = float(np.tanh(fisher_z(s_in) - cfg.lead_weight * lead_z - prior))
    else:
        kept = s_in - cfg.lead_weight * lead - prior
    score = float(np.clip(kept, 0.0, 1.0)) * min(1.0, imu_cov)
    if "video_moves_phone_rests" in findings or "phone_moves_video_still" in findings:
        score = 0.0
    # The gain decides only when no camera could explain it: the field of view is a prior
    # (±25 %) and an arc around the face shows a fraction of its turn in the room (parallax),
    # but not 1/57 of it (a gyro sent in deg/s).
    # With parallax in the prediction the gain mixes with the fitted depth (a pure arc about
    # the face turns the phone and shifts it in step), so it decides only where no depth did.
    # The depth excuses such a gain only where it carries a real part of the prediction: its
    # share is ‖prediction − gyro‖ / ‖gyro‖ at the chosen offset (0 without parallax).
    g_i = g[i]
    excuse = float(np.sqrt(np.sum(wi[:, None] * (gi - g_i) ** 2)
                           / max(float(np.sum(wi[:, None] * g_i**2)), 1e-18)))  # fmt: skip
    if not cfg.gain_possible[0] <= gain <= cfg.gain_possible[1] and excuse < cfg.parallax_excuse:
        findings.append("gain_impossible")
    decisive = set(findings) - {"gain"}
    status = "disagrees" if decisive else "agrees"
    resid = np.sqrt(np.sum((rot - gain * gi) ** 2, 1))
    # How much of the phone's fast motion the video shows, against how much of its slow one
    # (≈ 1 unless a stabiliser took the fast part out of the image; noise raises it).
    fast_v = st.fast_v
    slow_v, slow_p = rot - fast_v, gi - c.fast_p[i]
    slow_v, slow_p = slow_v - wsum(wi, slow_v) / wi.sum(), slow_p - wsum(wi, slow_p) / wi.sum()

    def norm(x: np.ndarray) -> float:  # weighted over the intervals that entered
        return float(np.sqrt(np.sum(wi[:, None] * x**2))) + 1e-12

    fast_ratio = (norm(fast_v) / norm(c.fast_p[i])) / (norm(slow_v) / norm(slow_p))
    found = Agreement(status, score, float(taus[i]), float(c.r[i]), [float(x) for x in c.r_axes[i]],
                      float(c.r_fast[i]), gain, res, video_deg_s, gyro_deg_s, float(taus[j]),
                      float(s[j]), coverage, findings,
                      parallax_per_m=[float(x) for x in c.parallax[i]])  # fmt: skip
    if disp is not None:
        shift = gyro_over(disp[0], disp[1], vm.t0_ms + taus[i], vm.t1_ms + taus[i])
        found.room_per_m = room_inverse_depth(rot, g_i, shift, wi * use_bg, cfg)
        spans = (vm.t0_ms + taus[i] >= t_imu[0]) & (vm.t1_ms + taus[i] <= t_imu[-1])
        # The turn the image shows: a stabiliser's look compares with the gyro smoothed alike.
        shown = st.lowpass @ g_i if st.lowpass is not None else g_i
        return _Pass(found, resid, wi > 0, fast_ratio, (shown, shift, spans))
    return _Pass(found, resid, wi > 0, fast_ratio)


def room_inverse_depth(
    rot: np.ndarray, turn: np.ndarray, disp: np.ndarray, w: np.ndarray, cfg: MotionConfig
) -> float:
    """The room's inverse depth (1/m) from what its motion shows beyond the phone's turn.

    rot (K, 3) the video's rotation per interval, turn (K, 3) the gyro's over the same
    intervals, disp (K, 3) m the camera's displacement (accelerometer), w (K,) weights, 0 for
    intervals not measured on the room. A translation t seen at depth Z looks like a turn of
    (−t_y, t_x, 0)/Z (liveness.motion.parallax), so (rot − turn) on x and y ≈ shift/Z:
    weighted least squares through 0, the gain pinned at 1 (the gyro is calibrated; the free
    gain of the agreement's own fit trades with the depth when a hand arcs about the face).
    A room 1–4 m away reads 0.25–1; a print or a screen that fills the view, everything at the
    face's distance (0.25–0.5 m), 2–4. NaN with fewer than cfg.min_intervals room intervals
    or when the phone moved less than cfg.near_min_mm per interval (RMS over them): a turn in
    place shows no depth, and noise over nothing would read as any.
    """
    shift = translation_as_turn(disp)[:, :2]
    use = w > 0
    ss = float(np.sum(w[:, None] * shift**2))
    rms_mm = 1000.0 * np.sqrt(ss / max(float(w.sum()), 1e-12))
    if use.sum() < cfg.min_intervals or rms_mm < cfg.near_min_mm:
        return float("nan")
    return float(np.sum(w[:, None] * (rot - turn)[:, :2] * shift) / ss)


def agreement(
    frames: np.ndarray,
    t_ms: np.ndarray,
    imu: np.ndarray | None,
    cfg: MotionConfig,
    hfov_deg: float | None = None,
    face_box: tuple[float, float, float, float] | None = None,
) -> tuple[Agreement, VideoMotion]:
    """The whole check for one capture: video motion, then the comparison with the gyro."""
    vm = video_motion(frames, t_ms, cfg, hfov_deg, face_box)
    a = compare(vm, imu, cfg)
    a.video = vm
    return a, vm
