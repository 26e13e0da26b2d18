"""Configuration dataclasses: one source of truth, saved with every dataset, checkpoint, export."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

GRAVITY = 9.81  # m/s², the contract's g


@dataclass(frozen=True)
class PreprocessConfig:
    """What the model sees of a clip; used unchanged by the dataset, the CLI and the server.

    Frames: `num_frames` frames chosen by timestamp, the central square of side
    `crop_scale * min(W, H)` (where the page's face oval sits), resized to `image_size`².
    IMU: resampled to `imu_per_frame` samples per frame interval on the frames' time span,
    accelerometer divided by `acc_scale`, gyroscope by `gyro_scale`.
    `white_balance`: grey-world per clip on the crops (liveness.preprocess.white_balance), so
    the camera's and the room's colour cast is not read as liveness; False for models trained
    without it (their configs lack the field and load as False).
    """

    num_frames: int = 16
    image_size: int = 96
    crop_scale: float = 1.0
    imu_per_frame: int = 4
    acc_scale: float = GRAVITY
    gyro_scale: float = 1.0
    white_balance: bool = False
    # A cut sized from the face (liveness.preprocess.face_square): with a face box from the face
    # check, the square of side (box width / face_crop)·min(W, H), clipped to 0.4–1.0 of it,
    # centred on the face, so a face filmed from farther reaches the network at the size of a
    # typical calibration face (face_crop: that face's width over min(W, H)). Test-time only:
    # training cuts the central square. 0: the central square (models calibrated before it).
    face_crop: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PreprocessConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass(frozen=True)
class SynthConfig:
    """Parameters of the synthetic clip generator (`liveness synth`).

    These defaults are the generator's *base* configuration: one 96×128 size and its first
    ranges, so that what other tests and benches render from `SynthConfig()` stays the same.
    `liveness synth` uses the named presets of `liveness.synth.presets` (`training`, the wide
    default, and `shifted`, a stand-in camera outside it). A range is (lo, hi) or a union of
    intervals (lo1, hi1, lo2, hi2, ...), drawn uniformly over its total width.
    """

    preset: str = "base"
    # Render size in pixels, portrait 3:4. Both set: every clip has that size. Both None: each
    # clip draws one of `sizes` ((width, height) pairs) with `size_weights`. The model sees the
    # central square resized to PreprocessConfig.image_size (96), whatever the size.
    width: int | None = 96
    height: int | None = 128
    sizes: tuple[tuple[int, int], ...] = ()
    size_weights: tuple[float, ...] = ()
    duration_s: tuple[float, float] = (1.8, 2.4)
    fps: tuple[float, ...] = (10.0, 30.0)
    imu_hz: tuple[float, ...] = (50.0, 100.0)
    # Genuine clock offset of the sensor stamps behind the frame stamps, ms (docs/CLOCK_OFFSET.md).
    imu_offset_ms: tuple[float, float] = (0.0, 0.0)
    # Shares of the injection variants unrelated, same-direction, rest and shifted (the last
    # replays the capture's own IMU `injection_shift_ms` late or early; none in the base).
    injection_shares: tuple[float, float, float, float] = (0.4, 0.3, 0.3, 0.0)
    injection_shift_ms: tuple[float, float] = (100.0, 500.0)
    hfov_deg: tuple[float, ...] = (60.0, 70.0)
    wall_style: str = "painted"  # painted (posters, frames) | tiled (tiles or bricks)
    # When set, each capture draws its wall from these styles instead (synth/scene.py
    # WALL_STYLES); empty keeps the one `wall_style` and the draws of configs made before.
    wall_styles: tuple[str, ...] = ()
    # Repeat the 4 m wall texture mirrored beyond its edges instead of smearing its edge pixels
    # (wide views of far walls). Off only in the base configuration, to keep its clips' bytes.
    wall_mirror: bool = False
    # Average the wall's texture over each pixel's footprint (mip-mapped), as a sensor
    # integrates light, instead of one texel per ray, whose fine texture aliases into motion
    # the wall does not make (docs/MOTION.md, "Where the room corners sit"). Off in the base
    # and the presets so far (their clips' bytes): `liveness synth --filtered-walls`.
    wall_filtered: bool = False
    light_warmth: tuple[float, ...] = (-0.15, 0.15)  # key-light colour: + warm, − cool
    # Appearance variety (synth/looks.py; none in the base): shares of normal, low and side
    # light, of off-centre faces and of turning heads; sensor noise growing with ISO gain.
    light_shares: tuple[float, float, float] = (1.0, 0.0, 0.0)
    off_centre_share: float = 0.0
    head_turn_share: float = 0.0
    iso_noise: bool = False
    # How far the phone is from the face in a genuine capture (and an injection's video), m:
    # 0.18–0.35 is a face filling the page's guide oval; a user of another app films farther.
    face_distance_m: tuple[float, float] = (0.18, 0.35)
    # Share of prints and screens of photographic quality (synth/attacks.py, `fine`): no
    # halftone, full contrast, no visible pixel grid. None in the base or the presets so far.
    fine_media_share: float = 0.0
    # Share of clips filmed with electronic stabilisation (synth/looks.py): the image follows
    # the phone's turn without its tremor (above 3 Hz) and with a share `stabilised_sway` of
    # its sway, while the gyro measures all of it. None in the base or the presets so far:
    # `liveness synth --stabilised SHARE` (docs/SYNTH.md).
    stabilised_share: float = 0.0
    stabilised_sway: tuple[float, float] = (0.0, 0.5)
    # class mix: fractions of live / print / replay / injection
    mix: tuple[float, float, float, float] = (0.4, 0.2, 0.2, 0.2)
    no_imu_rate: float = 0.15  # every class also appears without imu.csv
    split: tuple[float, float, float] = (0.7, 0.15, 0.15)  # train/val/test, by subject
    clips_per_subject: int = 4
    jpeg_quality: tuple[int, int] = (70, 95)
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        fixed = self.width is not None and self.height is not None
        if not fixed and (self.width is not None or self.height is not None):
            raise ValueError("SynthConfig: set both width and height, or neither")
        if not fixed and (not self.sizes or len(self.size_weights) != len(self.sizes)):
            raise ValueError("SynthConfig: without width/height, sizes and size_weights are needed")
        for name in ("fps", "imu_hz", "hfov_deg", "light_warmth"):
            r = getattr(self, name)
            if len(r) < 2 or len(r) % 2 or any(r[k] > r[k + 1] for k in range(0, len(r), 2)):
                raise ValueError(f"SynthConfig.{name} must be (lo, hi[, lo2, hi2, ...]): {r}")
        lo, hi = self.stabilised_sway
        if not (0.0 <= self.stabilised_share <= 1.0 and 0.0 <= lo <= hi <= 1.0):
            raise ValueError("SynthConfig: stabilised_share and stabilised_sway lie in [0, 1]")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ModelConfig:
    """The network's shape. `use_video` / `use_imu` switch modalities off for the ablation."""

    width_mult: float = 0.5  # MobileNetV3-Small width
    cbam: bool = True
    motion_channel: bool = True  # feed the luminance difference to the previous frame
    # Explicit block-wise image motion per step (layers.motion). Off by default: on the
    # synth4k test split it did not help (injection AUC 0.78 with, 0.84 without; docs/MODEL.md).
    block_flow: bool = False
    flow_dim: int = 32
    # Ego-motion head: the video branch predicts the phone's angular velocity per step,
    # supervised on live clips by the gyro; prediction, gyro and their difference go to the LSTM.
    motion_aux: bool = False
    video_dim: int = 96
    imu_dim: int = 48
    hidden: int = 96  # LSTM state
    dropout: float = 0.2
    use_video: bool = True
    use_imu: bool = True

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        # Checkpoints from before these options existed lack them: they were off.
        d = {"block_flow": False, "motion_aux": False, **d}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass(frozen=True)
class MotionConfig:
    """The motion-agreement check (liveness.motion): tracking, fitting and what agreement means."""

    hfov_deg: float = 65.0  # horizontal field of view prior (CONTRACT.md: 50–80°, most 60–70°)
    max_side: int = 160  # frames are tracked at most this large (longest side, px)
    # Corners tracked per interval. They carry over from frame to frame and are topped up with
    # new ones when fewer than redetect_share of this are left: 60 strong corners measured better
    # than 150 re-detected every frame (fewer genuine refusals, higher injection AUC, half the
    # CPU; docs/MOTION.md "Tracks that carry over"). 40 measured as well on three development
    # sets, but lost confidence and parallax in the physics tests: not taken (MOTION.md, Speed).
    max_corners: int = 60
    redetect_share: float = 0.5
    corner_quality: float = 0.005  # of the strongest corner: lower tracks more, and more noise
    min_points: int = 8  # tracked points a fit needs
    lk_window: int = 15
    # Pyramid levels above the frame: 2 follows a phone swung at 250°/s at 10 fps, 1 loses
    # some swings over 200°/s (test_fast_swing_agrees; 30 % less tracking time, not taken).
    lk_levels: int = 2
    # A track whose window's structure tensor has a smallest eigenvalue below this (per pixel,
    # OpenCV's minEigThreshold) is dropped: along stripes (planks, the edge of a shelf) the
    # image motion is unobservable (the aperture problem) and LK's answer there is noise.
    # OpenCV's default is 1e-4; 1e-2 measured on tc79 in docs/MOTION.md.
    lk_min_eig: float = 1e-2
    # Each carried track starts its search where its own last displacement points (and a new
    # corner where the carried ones' median does), not where it was: on a periodic texture (a
    # tiled wall) a fast swing moves the image more than half a tile a frame, and a search
    # that starts at rest locks every track onto the wrong tile alike, a confident wrong
    # rotation (docs/MOTION.md "A tiled wall"). The seed is the video's own motion, never the
    # gyro's, so it cannot lean toward what the sensors say. Files calibrated before: off.
    lk_seed: bool = True
    # The face-flatness cue (liveness.motion.relief; docs/MOTION.md "Is the face a plane?"):
    # corners of the face region followed through this many frames spread over the clip,
    # each step checked there and back (a track whose round trip misses by more than
    # relief_fb_px, at the tracked size, is dropped: drifting tracks look like relief), and a
    # frame's homography fitted only when at least relief_min_points reached it.
    relief_frames: int = 12
    relief_corners: int = 40
    relief_fb_px: float = 0.3
    relief_min_points: int = 12
    # With a face box, the cue tracks a crop around it (a square twice the box's larger side)
    # no larger than relief_side px, instead of the whole frame at max_side: a small face (a
    # wide lens, arm's length) keeps its pixels. 0: the whole frame (models calibrated before).
    relief_side: int = 0
    # The tracked ellipse's radii in half sides of the face box: 1 the face alone, 2 the face
    # and what surrounds it (the head's outline against the room: a print has no such edge).
    relief_surround: float = 1.0
    # Where the cue's tracks start: "box", the face check's best box in the first frame (the
    # guide oval without one); "oval", always the page's guide oval, where the user is asked to
    # put their face (a small face there comes with the room around it, whose parallax a
    # frame-filling print lacks: docs/MOTION.md "A flat capture refused").
    relief_region: str = "box"
    # Which tracks the cue is measured on: "own", its own (relief_corners corners of the face
    # region followed over relief_frames frames, checked there and back; ~7 ms a check);
    # "motion", the motion check's (every corner it followed from the first frame, over the
    # whole frame: no tracking of its own, ~1 ms; with sensors only, since the motion check
    # runs only then; relief_region and relief_side do not apply). docs/MOTION.md "The cue on
    # the motion check's tracks".
    relief_source: str = "own"
    irls_iters: int = 4
    robust_px: float = 0.5  # Cauchy scale of the flow residual, px at the tracked size
    min_conf: float = 0.3  # a background fit below this hands the interval to the face region
    face_weight: float = 0.5  # the face moves by itself too: its fits count half
    min_intervals: int = 5
    # A capture that disagrees is compared again without the intervals whose residual exceeds
    # outlier_factor × the median one (tracking failures: a spike no hand makes), if they are
    # at most outlier_share of the intervals (docs/MOTION.md, "Intervals the tracking lost").
    outlier_factor: float = 4.0
    outlier_share: float = 0.2
    # A capture that disagrees and whose video shows less than stabilised_ratio of the phone's
    # fast motion (relative to its slow motion) is compared again against the gyro smoothed by
    # a Gaussian of stabilised_ms, as an electronic stabiliser leaves the image (MOTION.md,
    # "Stabilised video"); 0 turns this off.
    stabilised_ms: float = 60.0
    stabilised_ratio: float = 0.5
    detail_sigma_ms: float = 120.0  # the slow part is a Gaussian of this width
    detail_share: float = 0.5  # weight of the fast part in the agreement score
    offset_ms: float = 80.0  # genuine clock offset between frame and sensor stamps (searched)
    wide_ms: float = 500.0  # searched to find a shifted stream (a finding, never accepted)
    step_ms: float = 5.0
    # Beyond the genuine range the search scores every wide_step_ms and refines each lobe at
    # step_ms (motion/offsets.py): the fine grid's peak for ~80 % of its cost; ≤ step_ms scores
    # every step_ms.
    wide_step_ms: float = 15.0
    # How much better (Fisher z of the agreement) the wide search's best must be to be a finding
    offset_margin_z: float = 0.15
    offset_min_score: float = 0.6  # ... and how good in itself (a clear peak, not noise)
    # The score loses lead_weight × how much better the streams line up outside the genuine
    # range; statuses are unchanged (MOTION.md "Where the streams line up"). lead_scale "z":
    # score = tanh(atanh(s_in) − lead_weight · z-lead), the lead on Fisher's z, the scale the
    # `offset` finding uses (0.98 against 0.94 is a clear lead, 0.71 against 0.69 is noise);
    # "r": score = s_in − lead_weight · (s_wide − s_in), what files calibrated before session 10
    # used (from_dict keeps it for them).
    lead_scale: str = "z"
    lead_weight: float = 2.0
    # The score (not the status) also loses offset_prior × (τ / offset_ms)² at the chosen
    # in-range clock offset τ, on the same scale: genuine offsets sit near 0 (the page stamps
    # both streams on one clock, CLOCK_OFFSET.md) while a stream replayed just too late lines up
    # best near the range's edge. On tr3k test it took the check's injection AUC 0.972 -> 0.987
    # (shifted variant 0.951 -> 0.980) with no status changed; the renderer's genuine captures
    # (offsets −60 to +60 ms) were refused as often as before, ±1 of 276 for each of two
    # networks (docs/MOTION.md "A prior on the clock offset").
    # Files calibrated before read 0 (from_dict): their fusion was fitted without it.
    offset_prior: float = 0.5
    min_motion_deg_s: float = 3.0  # below this on both sides there is nothing to compare
    still_deg_s: float = 1.5  # a side slower than this rests
    still_ratio: float = 3.0  # ... while the other moves this many times faster
    min_score: float = 0.5
    min_imu_coverage: float = 0.8  # share of the video's intervals the sensor stream must span
    gain_range: tuple[float, float] = (0.25, 2.0)  # outside: reported
    gain_possible: tuple[float, float] = (0.05, 5.0)  # outside: the video does not follow
    # ... unless the fitted parallax carries at least this share of the predicted motion (a
    # near room on an arc about the face); a far wall's few % cannot excuse a gain off by 20×.
    parallax_excuse: float = 0.5
    translation: bool = True  # model the camera's translation (accelerometer) seen as parallax
    max_parallax_per_m: float = 12.0  # 1/depth at most: nothing the camera tracks is nearer 8 cm
    # The room's depth (Agreement.room_per_m) is read only when the phone moved at least this
    # much per frame interval (RMS, mm): a hand-held arc moves it 2–4 mm, a turn in place ~0.
    near_min_mm: float = 0.3
    # A scene that moves by itself (liveness.motion.rigid, Agreement.scene_misfit): measured
    # only with `scene` on (`liveness calibrate --scene-gate Q` turns it on). Each corner
    # followed over scene_min_len intervals gets its depth fitted; the capture's number is the
    # scene_quantile of their misfits, NaN with fewer than scene_min_tracks such corners or
    # when the turn moved the image less than scene_min_px per interval (RMS). scene_gain:
    # the turn's gain is fitted within the field-of-view prior's range (50–80° against 65°).
    scene: bool = False
    scene_min_len: int = 4
    scene_min_tracks: int = 8
    scene_quantile: float = 0.25
    scene_min_px: float = 0.2
    scene_gain: tuple[float, float] = (0.75, 1.35)
    scene_iters: int = 4  # alternations of depths against velocity and gain (converged by 3)
    # The tracker's noise (px at the tracked size, per axis) taken out of each corner's
    # left-over motion before it is compared with the turn's: the misfit is relative to the
    # turn's motion in pixels, small on small frames and slow moves, while the noise is about
    # constant in pixels (docs/MOTION.md, "A noise floor for the moving scene"). 0: none.
    scene_noise_px: float = 0.35

    def __post_init__(self) -> None:
        if self.lead_scale not in ("r", "z"):
            raise ValueError(f"lead_scale must be 'r' or 'z', not {self.lead_scale!r}")
        if self.relief_region not in ("box", "oval"):
            raise ValueError(f"relief_region must be 'box' or 'oval', not {self.relief_region!r}")
        if self.relief_source not in ("own", "motion"):
            raise ValueError(f"relief_source must be 'own' or 'motion', not {self.relief_source!r}")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["gain_range"] = list(self.gain_range)  # as JSON reads it back
        d["gain_possible"] = list(self.gain_possible)
        d["scene_gain"] = list(self.scene_gain)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MotionConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        kw: dict[str, Any] = {k: v for k, v in d.items() if k in names}
        if d and "lead_scale" not in d:
            # Written before the lead had a scale: calibrated with the lead on r, and before
            # lead_weight existed, with a weight of 1 (their fusion was fitted on those scores).
            kw.update(lead_scale="r", lead_weight=float(d.get("lead_weight", 1.0)))
        if d and "relief_side" not in d:
            kw["relief_side"] = 0  # written before the face crop: the cue on the whole frame
        if d and "lk_seed" not in d:
            kw["lk_seed"] = False  # tracked from rest: its fusion and gates were fitted so
        if d and "offset_prior" not in d:
            kw["offset_prior"] = 0.0  # its fusion was fitted on scores without the prior
        if d and "scene_noise_px" not in d:
            kw["scene_noise_px"] = 0.0  # its scene gate's level was set on misfits without it
        for k in ("gain_range", "gain_possible", "scene_gain"):
            if k in kw:
                kw[k] = tuple(kw[k])
        return cls(**kw)


MOTION_EPS = 0.05  # the agreement is clipped to [ε, 1 − ε] before its logit
# The face's misfit to one plane enters the fusion below 1 % of the width, between the medians
# of prints (0.38 %) and genuine faces (1.17 %) on tc79 (training preset); below 0.1 % is
# tracking noise (docs/MOTION.md, "Is the face a plane?").
RELIEF_REF_PCT = 1.0
RELIEF_MIN_PCT = 0.1


@dataclass(frozen=True)
class FusionConfig:
    """Late fusion of the network's score and the motion agreement (liveness.decision).

    score = sigmoid(w_model·logit(p) + has_imu·(w_motion·m + b_imu) + bias), with the agreement
    entering as m = logit(clip(agreement, 0.05, 0.95)) (`motion_form` "logit": a physics check's
    near-certain answers weigh like the network's) or as m = agreement − 0.5 ("linear", what
    models calibrated before the logit form carry). Fitted by logistic regression on the
    validation split (`liveness calibrate`). The defaults leave the network's score unchanged.
    """

    w_model: float = 1.0
    w_motion: float = 0.0
    b_imu: float = 0.0
    bias: float = 0.0
    rule: str = "none"
    motion_form: str = "linear"  # linear | logit
    # With sensors, a capture the motion check itself calls disagreeing is refused (decision
    # policy) instead of fused, so the network cannot outvote the physics where it has not seen
    # the camera. Calibrations since the training preset set it; older files lack it (off).
    motion_gate: bool = False
    # The gate's level for a capture refused on weak correlation alone (findings
    # "low_correlation" and "gain"): refused only when its agreement score is below this; others
    # are fused. None: every disagreeing capture is refused. `liveness calibrate` sets it so
    # the gate by itself refuses at most `gate_bpcer` of the genuine calibration captures.
    gate_below: float | None = None
    # The face-flatness cue (liveness.motion.relief), for every capture, sensors or not:
    # + w_relief·min(log(misfit / RELIEF_REF_PCT), 0), one-sided: a face flatter than the
    # reference lowers the score, depth does not raise it (a replay shows a recorded 3-D face,
    # an injection is one). A capture where it could not be measured adds nothing.
    # 0: not used (models calibrated before it).
    w_relief: float = 0.0
    # The flatness gate: with sensors, a capture the motion policy lets through whose cue is
    # measured and below this (% of the width) is refused ("face_flat"), whatever the network
    # says: the phone moved, and the scene it filmed moved as one plane. `liveness calibrate
    # --flat-gate Q` sets it to the Q-quantile of the calibration set's genuine captures.
    # Captures without sensors are not gated (a webcam on a desk does not move around the
    # face). 0: off (models calibrated before it).
    flat_gate_pct: float = 0.0
    # The near-and-flat gate: with sensors, a capture the motion policy let through whose room
    # reads as near as a print held before the phone (Agreement.room_per_m ≥ near_gate_per_m:
    # the room's inverse depth, 1/m, from the accelerometer's translation) and whose scene
    # moved as one plane (the flatness cue on the motion check's tracks below near_flat_pct)
    # is refused ("scene_flat"): a print or a screen that fills the view. Either alone also
    # describes some genuine captures (a flat, far scene; a body filling the view); both
    # together a flat medium at arm's length (docs/MOTION.md "The scene at arm's length").
    # `liveness calibrate --near-gate Q` sets them. 0: off (models calibrated before it).
    near_gate_per_m: float = 0.0
    near_flat_pct: float = 0.0
    # The moving-scene gate: with sensors, a capture the motion policy let through whose
    # scene moves beyond what the phone's own motion explains at any depth
    # (Agreement.scene_misfit above scene_gate) is refused ("scene_moves"): a screen replaying
    # a recording, which moves with the recording's camera (docs/MOTION.md "A scene that moves
    # by itself"). `liveness calibrate --scene-gate Q` sets it to the (1 − Q)-quantile of the
    # calibration set's genuine captures. 0: off (models calibrated before it).
    scene_gate: float = 0.0

    @property
    def uses_relief(self) -> bool:
        """Whether a verdict needs the flatness cue (fused, gated or both)."""
        return bool(self.w_relief or self.flat_gate_pct or self.near_gate_per_m)

    def relief_term(self, misfit_pct: float | None) -> float:
        """The face's misfit to one plane (% of the width) as it enters the fusion: ≤ 0."""
        if misfit_pct is None or not math.isfinite(misfit_pct):
            return 0.0
        return min(math.log(max(misfit_pct, RELIEF_MIN_PCT) / RELIEF_REF_PCT), 0.0)

    def motion_term(self, agreement: float) -> float:
        """The agreement score (0..1) as it enters the fusion."""
        if self.motion_form == "logit":
            a = min(max(agreement, MOTION_EPS), 1.0 - MOTION_EPS)
            return math.log(a / (1.0 - a))
        return agreement - 0.5

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FusionConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass(frozen=True)
class LivenessConfig:
    """Everything needed to rebuild a model and use it: saved in checkpoints and exports."""

    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    threshold: float = 0.5  # score >= threshold -> live; calibrated on the validation split
    threshold_rule: str = "uncalibrated"
    motion: MotionConfig = field(default_factory=MotionConfig)
    fusion: FusionConfig = field(default_factory=FusionConfig)

    def __post_init__(self) -> None:
        if self.fusion.near_gate_per_m > 0 and self.motion.relief_source != "motion":
            raise ValueError("the near-and-flat gate reads the flatness cue off the motion "
                             "check's tracks: it needs motion.relief_source 'motion'")  # fmt: skip
        if self.fusion.scene_gate > 0 and not self.motion.scene:
            raise ValueError("the moving-scene gate needs the motion check to measure the "
                             "scene (motion.scene on)")  # fmt: skip

    def modalities(self, imu_present: bool) -> list[str]:
        """Which inputs a prediction actually used (reported with every score)."""
        used = ["video"] if self.model.use_video else []
        if self.model.use_imu and imu_present:
            used.append("imu")
        return used

    def to_dict(self) -> dict[str, Any]:
        return {
            "preprocess": self.preprocess.to_dict(),
            "model": self.model.to_dict(),
            "threshold": self.threshold,
            "threshold_rule": self.threshold_rule,
            "motion": self.motion.to_dict(),
            "fusion": self.fusion.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LivenessConfig:
        return cls(
            preprocess=PreprocessConfig.from_dict(d.get("preprocess", {})),
            model=ModelConfig.from_dict(d.get("model", {})),
            threshold=float(d.get("threshold", 0.5)),
            threshold_rule=str(d.get("threshold_rule", "uncalibrated")),
            motion=MotionConfig.from_dict(d.get("motion", {})),
            fusion=FusionConfig.from_dict(d.get("fusion", {})),
        )
