"""The policy gates' levels, each set from a calibration set's genuine captures.

`liveness calibrate` scores a split through the decision path's inputs (calibrate.collect) and
sets each gate it is asked for from those scores: the motion gate's `gate_below`, the flatness
gates' levels and the moving-scene gate's (FusionConfig; liveness.decision applies them).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from liveness.decision import WEAK


def gate_level(scored: dict[str, Any], gate_bpcer: float) -> float:
    """The highest `gate_below` at which the gate by itself refuses at most `gate_bpcer` of the
    genuine captures (a finding beyond weak correlation refuses at any level; 0.0 when those
    alone exceed the share). Candidates: the weak-only genuine captures' own scores."""
    live = np.asarray(scored["is_live"], bool)
    budget = int(np.floor(gate_bpcer * live.sum()))
    strong, weak = 0, []
    for a, lv in zip(scored["motion"], live, strict=True):
        if not lv or a is None or a.status != "disagrees":
            continue
        if set(a.findings) <= WEAK:
            weak.append(float(a.score))
        else:
            strong += 1
    weak.sort()
    left = budget - strong
    if left < 0 or not weak:
        return 0.0 if left < 0 else 1.0
    # Refused: weak scores strictly below the level; `left` of them may be.
    return weak[left] if left < len(weak) else 1.0


def flat_level(scored: dict[str, Any], quantile: float) -> float:
    """FusionConfig.flat_gate_pct: the `quantile` of the flatness cue over the genuine captures
    with sensors where it was measured (the gate refuses below it, so about that share of
    them; 0: their smallest value, so none of them). No such capture: an error, since the gate
    would be a guess."""
    if not 0 <= quantile < 0.5:
        raise ValueError(f"the flat gate's quantile must be in [0, 0.5), not {quantile}")
    rows = zip(scored["relief"], scored["is_live"], scored["has_imu"], strict=True)
    vals = [r.misfit_pct for r, lv, imu in rows if lv and imu and r is not None and r.measured]
    if not vals:
        raise ValueError("the flat gate needs genuine captures with sensors and a measured cue")
    return float(np.quantile(np.asarray(vals, float), quantile))


# The moving-scene gate's lowest level. With the tracker's noise taken out
# (MotionConfig.scene_noise_px) a clean calibration set's genuine captures can all read 0,
# and a level of 0 would switch the gate off (FusionConfig.scene_gate 0) or refuse the noise's
# residue. The camera rig's genuine moves read under 0.05 with the floor, a screen replaying
# another move 0.17 or more (tests/test_rigid.py).
SCENE_MIN_LEVEL = 0.1


def scene_level(scored: dict[str, Any], share: float) -> float:
    """FusionConfig.scene_gate: the (1 − `share`)-quantile of Agreement.scene_misfit over the
    genuine captures with sensors where it was measured (the gate refuses above it, so about
    that share of them, fewer where the motion policy refused them already), at least
    SCENE_MIN_LEVEL. No such capture: an error, since the gate would be a guess."""
    if not 0 <= share < 0.5:
        raise ValueError(f"the scene gate's share must be in [0, 0.5), not {share}")
    rows = zip(scored["motion"], scored["is_live"], scored["has_imu"], strict=True)
    vals = [a.scene_misfit for a, lv, imu in rows
            if lv and imu and a is not None and np.isfinite(a.scene_misfit)]  # fmt: skip
    if not vals:
        raise ValueError("the scene gate needs genuine captures with sensors and a measured misfit")
    return max(SCENE_MIN_LEVEL, float(np.quantile(np.asarray(vals, float), 1.0 - share)))


# The near-and-flat gate's room level (1/m): a room nearer than ~0.7 m. Rooms behind a selfie's
# face sit 1–4 m away (0.25–1 /m; the training preset's walls 0.8–3.4 m from the camera); a print
# or a screen filling the view sits at the face's distance, 0.25–0.5 m (2–4 /m). Between them,
# so neither the fitted depth's noise nor a near wall alone decides (docs/MOTION.md, "The scene
# at arm's length").
# Its flatness level is flat_level's quantile of the cue on the motion check's tracks; the gate
# refuses only the genuine captures below it whose room is also near, far fewer than that share.
NEAR_PER_M = 1.4
