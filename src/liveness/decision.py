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
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from liveness.config import FusionConfig, LivenessConfig
from liveness.motion import FINDINGS, Agreement

# Findings that refuse whatever the scores (their rate on genuine captures: docs/MOTION.md).
# A shifted stream ("offset") lowers the agreement score instead: on the generator's own live
# clips the correlation peak is too broad to veto on its position alone.
VETO = ("video_moves_phone_rests", "phone_moves_video_still")


# Findings that only say the correlation is weak (noisy tracking, a still or slow phone look
# like this too): the gate refuses them below FusionConfig.gate_below, above it they are fused.
# "gain" is the reported ratio; a ratio no camera explains is "gain_impossible", not weak.
WEAK = frozenset(("low_correlation", "gain"))


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


def fused_score(model_score: float, motion_score: float | None, fusion: FusionConfig) -> float:
    """The calibrated probability of live from the network's score and, with sensors, the
    agreement score (None without sensors, or when the agreement could not be measured)."""
    z = fusion.w_model * logit(model_score) + fusion.bias
    if motion_score is not None and np.isfinite(motion_score):
        z += fusion.w_motion * fusion.motion_term(motion_score) + fusion.b_imu
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
        if self.refused:
            out["rejected"] = self.refused
        return out


def decide(
    model_score: float, has_imu: bool, agreement: Agreement | None, cfg: LivenessConfig
) -> Decision:
    """The verdict for one capture whose face check passed (see module docstring)."""
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
    score = 0.0 if refused else fused_score(model_score, m_score, cfg.fusion)
    live = refused is None and score >= cfg.threshold
    if not refused and not live:
        reasons.append({
            "code": "score_below_threshold",
            "message": f"score {score:.3f} is below the threshold {cfg.threshold:.3f}",
        })  # fmt: skip
    return Decision(live, score, model_score, cfg.threshold, modalities, motion, reasons, refused)
