"""The one decision path: network score, motion agreement, face check and policy -> a verdict.

`liveness predict`, `liveness evaluate`, `liveness calibrate` and the service all reach their
verdict through `decide` (the service adds its session's challenge on top), so the same capture
gets the same answer everywhere.

Policy with motion sensors: the page always asks for motion, so a capture in which neither the
phone nor the video moved is refused with a reason that asks for the move again; a finding that
physics does not allow in a genuine capture (the video moves while the phone rests, or the
reverse) refuses outright; with `FusionConfig.motion_gate` (the bundled model's calibration),
so does a capture the motion check calls disagreeing, with the check's own words (one
disagreeing on weak correlation alone only below the calibrated `gate_below`);
otherwise the agreement score is fused with the network's score (FusionConfig) and the fused
score meets the threshold. Without sensors: the network's score alone, and the answer says so.
With or without sensors, a model calibrated with the face-flatness cue (`liveness calibrate
--relief`) also fuses how far the face's motion is from one plane's (liveness.motion.relief: a
print or a screen is flat, a face is not). With sensors, a model calibrated with the flatness
gate (`--flat-gate`, FusionConfig.flat_gate_pct) refuses a capture the motion policy let
through whose filmed scene moved as one plane ("face_flat"), whatever the network says; with
the near-and-flat gate (`--near-gate`, FusionConfig.near_gate_per_m), one whose scene moved as
one plane and whose room sat at arm's length, as a print or a screen filling the view does
("scene_flat"); with the moving-scene gate (`--scene-gate`, FusionConfig.scene_gate), one whose
scene moved beyond what the phone's own motion explains at any depth, as a screen replaying a
recording does ("scene_moves").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from liveness.clip import Clip
from liveness.config import FusionConfig, LivenessConfig
from liveness.motion import FINDINGS, Agreement, Relief, agreement, motion_relief, relief

# Findings that refuse whatever the scores (their rate on genuine captures: docs/MOTION.md).
# A shifted stream ("offset") lowers the agreement score instead: on the generator's own live
# clips the correlation peak is too broad to veto on its position alone.
VETO = ("video_moves_phone_rests", "phone_moves_video_still")


# Findings that only say the correlation is weak (noisy tracking, a still or slow phone look
# like this too): the gate refuses them below FusionConfig.gate_below, above it they are fused.
# "gain" is the reported ratio; a ratio no camera explains is "gain_impossible", not weak.
WEAK = frozenset(("low_correlation", "gain"))


def clip_hfov(clip: Clip) -> float | None:
    """The camera's horizontal field of view from the clip's meta.json when it states a
    plausible one (30–120°), else None: the motion check's prior."""
    hfov = clip.meta.get("hfov_deg") if isinstance(clip.meta, dict) else None
    return float(hfov) if isinstance(hfov, int | float) and 30 <= hfov <= 120 else None


def clip_agreement(clip: Clip, cfg: LivenessConfig) -> Agreement | None:
    """The motion agreement of a capture (all its frames against its gyro); None without
    sensors. The camera's field of view comes from its meta.json when it states one."""
    if clip.imu is None:
        return None
    return agreement(clip.frames, clip.frame_t_ms, clip.imu, cfg.motion, clip_hfov(clip))[0]


def clip_relief(
    clip: Clip,
    cfg: LivenessConfig,
    force: bool = False,
    faces: dict[int, Any] | None = None,
    motion: Agreement | None = None,
) -> Relief | None:
    """The face-flatness cue of a capture when the model's fusion or gate uses it (or
    `force`), else None: models calibrated before it pay nothing for it. With
    MotionConfig.relief_region "box", `faces` (the face check's detections by frame index,
    FaceCheck.faces) places the tracks on the best face in the first frame (a wide lens shows a
    small face in much room); without one, and always with "oval", on the guide oval. With
    MotionConfig.relief_source "motion" it is read off the motion check's tracks (`motion`,
    the capture's agreement: None without sensors, and then so is the cue). A model that
    reads it only for the near-and-flat gate measures it only where the room is near (the
    same verdicts; `force` measures it anyway, as calibration does)."""
    if not (force or cfg.fusion.uses_relief):
        return None
    if cfg.motion.relief_source == "motion":
        if motion is None or motion.video is None:
            return None
        f = cfg.fusion
        if not (force or f.w_relief or f.flat_gate_pct) and not near(motion, f):
            return None  # only the near-and-flat gate reads it, and the room is not near
        return motion_relief(motion.video, cfg.motion).relief
    first = (faces or {}).get(0) or [] if cfg.motion.relief_region == "box" else []
    box = max(first, key=lambda f: f.score).box if first else None
    return relief(clip.frames, clip.frame_t_ms, cfg.motion, box)


def flat_gated(has_imu: bool, relief: Relief | None, fusion: FusionConfig) -> bool:
    """Whether the flatness gate refuses this capture (FusionConfig.flat_gate_pct): it has
    sensors (so the page asked the phone to move), and the cue was measured and is below."""
    return (
        has_imu
        and fusion.flat_gate_pct > 0
        and relief is not None
        and relief.measured
        and relief.misfit_pct < fusion.flat_gate_pct
    )


def near(agreement: Agreement | None, fusion: FusionConfig) -> bool:
    """Whether the capture's room was measured as near as a print held before the phone
    (FusionConfig.near_gate_per_m > 0 and Agreement.room_per_m at or above it)."""
    return (
        fusion.near_gate_per_m > 0
        and agreement is not None
        and bool(np.isfinite(agreement.room_per_m))
        and agreement.room_per_m >= fusion.near_gate_per_m
    )


def near_flat_gated(
    agreement: Agreement | None, relief: Relief | None, fusion: FusionConfig
) -> bool:
    """Whether the near-and-flat gate refuses this capture (FusionConfig.near_gate_per_m):
    its room was measured as near as a print held before the phone and its scene, measured
    on the motion check's tracks, moved as one plane."""
    return (
        near(agreement, fusion)
        and relief is not None
        and relief.measured
        and relief.misfit_pct < fusion.near_flat_pct
    )


def scene_moved(agreement: Agreement | None, fusion: FusionConfig) -> bool:
    """Whether the moving-scene gate refuses this capture (FusionConfig.scene_gate): the
    scene's best-explained corners moved beyond what the phone's turn and translation explain
    (Agreement.scene_misfit measured and above the gate)."""
    return (
        fusion.scene_gate > 0
        and agreement is not None
        and bool(np.isfinite(agreement.scene_misfit))
        and agreement.scene_misfit > fusion.scene_gate
    )


def gated(agreement: Agreement, fusion: FusionConfig) -> bool:
    """Whether the motion gate refuses this capture (FusionConfig.motion_gate, gate_below)."""
    if not fusion.motion_gate or agreement.status != "disagrees":
        return False
    weak_only = set(agreement.findings) <= WEAK
    return not weak_only or fusion.gate_below is None or agreement.score < fusion.gate_below


def logit(p: float) -> float:
    """log(p / (1 − p)), p clipped to [1e-6, 1 − 1e-6]."""
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def fused_score(
    model_score: float,
    motion_score: float | None,
    fusion: FusionConfig,
    relief_pct: float | None = None,
) -> float:
    """The calibrated probability of live from the network's score, with sensors the
    agreement score (None without sensors, or when the agreement could not be measured) and
    the face's misfit to one plane (None or NaN: not measured; FusionConfig.relief_term)."""
    z = fusion.w_model * logit(model_score) + fusion.bias
    if motion_score is not None and np.isfinite(motion_score):
        z += fusion.w_motion * fusion.motion_term(motion_score) + fusion.b_imu
    if fusion.w_relief:
        z += fusion.w_relief * fusion.relief_term(relief_pct)
    return 1.0 / (1.0 + math.exp(-min(max(z, -500.0), 500.0)))  # no overflow when separable


@dataclass
class Decision:
    live: bool
    score: float  # fused probability of live (0 when refused by policy)
    model_score: float
    threshold: float
    modalities: list[str]
    motion: dict[str, Any] | None  # Agreement.to_dict(), None without sensors
    reasons: list[dict[str, str]] = field(default_factory=list)
    refused: str | None = None  # a policy code when refused before scoring
    relief: dict[str, Any] | None = None  # Relief.to_dict() when the model's fusion uses it

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "live": self.live,
            "score": round(self.score, 6),
            "threshold": round(self.threshold, 6),
            "modalities": self.modalities,
            "model_score": round(self.model_score, 6),
            "reasons": self.reasons,
        }
        if self.motion is not None:
            out["motion"] = self.motion
        if self.relief is not None:
            out["relief"] = self.relief
        if self.refused:
            out["rejected"] = self.refused
        return out


def decide(
    model_score: float,
    has_imu: bool,
    agreement: Agreement | None,
    cfg: LivenessConfig,
    relief: Relief | None = None,
) -> Decision:
    """The verdict for one capture whose face check passed (see module docstring); `relief`
    counts only when the model's fusion or gate uses it (FusionConfig.uses_relief)."""
    reasons: list[dict[str, str]] = []
    modalities = cfg.modalities(has_imu)
    motion = agreement.to_dict() if agreement is not None and has_imu else None
    refused = None
    m_score: float | None = None
    if has_imu and agreement is not None:
        if agreement.status == "no_motion":
            refused = "no_motion"
        elif any(f in VETO for f in agreement.findings):
            refused = "motion_mismatch"
        elif gated(agreement, cfg.fusion):
            refused = "motion_disagrees"
        elif agreement.status != "unreliable":
            m_score = agreement.score
        if refused == "motion_disagrees":
            reasons.append({"code": refused, "message": agreement.words()})
        elif refused:
            words = "; ".join(FINDINGS[f] for f in agreement.findings if f in FINDINGS)
            reasons.append({"code": refused, "message": words or agreement.words()})
        elif agreement.status == "disagrees":
            reasons.append({"code": "motion_disagrees", "message": agreement.words()})
    if refused is None and relief is not None and flat_gated(has_imu, relief, cfg.fusion):
        refused = "face_flat"
        gate = cfg.fusion.flat_gate_pct
        reasons.append({"code": refused, "message": f"{relief.words()}; below {gate:.2f} %, "
                        "what a moving phone shows of a 3-D face, the scene moved as one plane "
                        "(a print or a screen)"})  # fmt: skip
    if refused is None and has_imu and near_flat_gated(agreement, relief, cfg.fusion):
        assert agreement is not None and relief is not None  # near_flat_gated checked both
        refused = "scene_flat"
        reasons.append({"code": refused, "message": (
            f"{relief.words()}, and the room reads {1 / agreement.room_per_m:.2f} m away: "
            "the whole scene sat at arm's length and moved as one plane (a print or a screen "
            "filling the view)")})  # fmt: skip
    if refused is None and has_imu and scene_moved(agreement, cfg.fusion):
        assert agreement is not None  # scene_moved checked it
        refused = "scene_moves"
        reasons.append({"code": refused, "message": (
            f"the scene moved beyond what the phone's own motion explains (misfit "
            f"{agreement.scene_misfit:.2f}, above {cfg.fusion.scene_gate:.2f}): it moves by "
            "itself, as a recording replayed on a screen does")})  # fmt: skip
    uses_relief = cfg.fusion.uses_relief and relief is not None
    r_pct = relief.misfit_pct if cfg.fusion.w_relief and relief is not None else None
    score = 0.0 if refused else fused_score(model_score, m_score, cfg.fusion, r_pct)
    live = refused is None and score >= cfg.threshold
    if not refused and not live:
        reasons.append({
            "code": "score_below_threshold",
            "message": f"score {score:.3f} is below the threshold {cfg.threshold:.3f}",
        })  # fmt: skip
        if r_pct is not None and cfg.fusion.relief_term(r_pct) < 0:
            reasons.append({"code": "face_flat", "message": relief.words() if relief else ""})
    return Decision(live, score, model_score, cfg.threshold, modalities, motion, reasons,
                    refused, relief.to_dict() if uses_relief and relief else None)  # fmt: skip
