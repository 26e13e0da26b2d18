"""The one decision path (liveness.decision): fusion, policy refusals, what the answer says."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from liveness.config import FusionConfig, LivenessConfig
from liveness.decision import (
    clip_relief,
    decide,
    flat_gated,
    fused_score,
    gated,
    near_flat_gated,
)
from liveness.motion import Agreement, Relief


def agreement(status: str = "agrees", score: float = 0.9, findings: list[str] | None = None):
    return Agreement(status, score, 20.0, 0.9, [0.9, 0.9, 0.5], 0.8, 0.8, 0.1, 8.0, 9.0, 20.0,
                     0.9, 1.0, findings if findings is not None else [])  # fmt: skip


CFG = LivenessConfig(threshold=0.5)


@pytest.mark.parametrize("p", [0.01, 0.3, 0.5, 0.97])
def test_default_fusion_keeps_the_network_score(p: float) -> None:
    assert fused_score(p, 0.9, FusionConfig()) == pytest.approx(p, abs=1e-9)


def test_agreement_raises_the_fused_score() -> None:
    fusion = FusionConfig(w_motion=4.0)
    low, high = fused_score(0.5, 0.1, fusion), fused_score(0.5, 0.9, fusion)
    assert low < 0.5 < high
    assert fused_score(0.5, None, fusion) == pytest.approx(0.5)  # no sensors: network alone


def test_logit_form_of_the_agreement() -> None:
    """ "logit": w·logit(clip(agreement, 0.05, 0.95)), so 0.5 is neutral, the ends are bounded
    and the term is odd about 0.5; "linear" (older calibrations) keeps agreement − 0.5."""
    f = FusionConfig(w_motion=1.0, motion_form="logit")
    assert f.motion_term(0.5) == pytest.approx(0.0)
    assert f.motion_term(0.0) == pytest.approx(np.log(0.05 / 0.95))
    assert f.motion_term(1.0) == pytest.approx(-f.motion_term(0.0))
    assert f.motion_term(0.8) == pytest.approx(np.log(4.0))
    assert FusionConfig(motion_form="linear").motion_term(0.8) == pytest.approx(0.3)
    z = np.log(0.7 / 0.3) + np.log(0.9 / 0.1)  # the network's logit plus the agreement's
    assert fused_score(0.7, 0.9, f) == pytest.approx(1 / (1 + np.exp(-z)))
    assert FusionConfig.from_dict(f.to_dict()) == f


def test_agreeing_capture_is_live_and_says_so() -> None:
    d = decide(0.8, True, agreement(), CFG).to_dict()
    assert d["live"] and d["modalities"] == ["video", "imu"]
    assert d["motion"]["agrees"] and "follows" in d["motion"]["words"]
    assert d["reasons"] == []


def test_phone_that_did_not_move_is_refused_with_a_reason_to_retry() -> None:
    d = decide(0.99, True, agreement("no_motion", float("nan"), ["no_motion"]), CFG)
    assert not d.live and d.refused == "no_motion" and d.score == 0.0
    assert "move" in d.reasons[0]["message"]


@pytest.mark.parametrize("finding", ["video_moves_phone_rests", "phone_moves_video_still"])
def test_physically_impossible_motion_is_refused_whatever_the_score(finding: str) -> None:
    d = decide(0.999, True, agreement("disagrees", 0.0, [finding]), CFG)
    assert not d.live and d.refused == "motion_mismatch"
    assert d.to_dict()["rejected"] == "motion_mismatch"


def test_disagreement_lowers_the_fused_score_below_threshold() -> None:
    cfg = dataclasses.replace(CFG, fusion=FusionConfig(w_motion=6.0))
    good = decide(0.6, True, agreement(), cfg)
    bad = decide(0.6, True, agreement("disagrees", 0.05, ["low_correlation"]), cfg)
    assert good.live and not bad.live
    assert [r["code"] for r in bad.reasons] == ["motion_disagrees", "score_below_threshold"]


def test_motion_gate_refuses_what_the_motion_check_calls_disagreeing() -> None:
    """With the gate the network cannot outvote the physics: a disagreeing capture is refused
    with the motion check's own words, an agreeing one is still fused, and without sensors the
    gate does nothing."""
    cfg = dataclasses.replace(CFG, fusion=FusionConfig(w_motion=1.0, motion_gate=True))
    bad = decide(0.999, True, agreement("disagrees", 0.45, ["offset"]), cfg)
    assert not bad.live and bad.refused == "motion_disagrees" and bad.score == 0.0
    assert bad.reasons[0]["code"] == "motion_disagrees" and "does not follow" in bad.reasons[0][
        "message"]  # fmt: skip
    assert bad.to_dict()["rejected"] == "motion_disagrees"
    assert decide(0.999, True, agreement(), cfg).live
    assert decide(0.999, False, None, cfg).live
    old = FusionConfig.from_dict({"w_motion": 1.0, "motion_form": "logit"})  # an older file
    assert not old.motion_gate


def test_gate_level_refuses_weak_disagreement_below_it_and_fuses_it_above() -> None:
    """gate_below: a capture disagreeing on weak correlation alone is refused below the level
    and fused above it (its low agreement still lowers the score); one with any other finding
    is refused at every level; None keeps the gate refusing every disagreeing capture."""
    fusion = FusionConfig(w_motion=1.0, motion_form="logit", motion_gate=True, gate_below=0.3)
    cfg = dataclasses.replace(CFG, fusion=fusion)
    weak_low = agreement("disagrees", 0.2, ["low_correlation", "gain"])
    weak_high = agreement("disagrees", 0.4, ["low_correlation"])
    strong = agreement("disagrees", 0.45, ["offset", "low_correlation"])
    units = agreement("disagrees", 0.9, ["gain", "gain_impossible"])  # a gyro in deg/s
    assert gated(units, fusion)
    assert gated(weak_low, fusion) and not gated(weak_high, fusion) and gated(strong, fusion)
    assert decide(0.99, True, weak_low, cfg).refused == "motion_disagrees"
    fused = decide(0.99, True, weak_high, cfg)
    assert fused.refused is None and fused.live
    assert fused.score < decide(0.99, True, agreement(), cfg).score
    assert fused.reasons[0]["code"] == "motion_disagrees"  # still said, though not refused
    assert decide(0.99, True, strong, cfg).refused == "motion_disagrees"
    every = dataclasses.replace(fusion, gate_below=None)
    assert gated(weak_high, every) and not gated(agreement(), every)
    assert not gated(weak_low, dataclasses.replace(fusion, motion_gate=False))
    assert FusionConfig.from_dict(fusion.to_dict()) == fusion
    assert FusionConfig.from_dict({"motion_gate": True}).gate_below is None  # older files


def test_without_sensors_video_only() -> None:
    d = decide(0.7, False, None, CFG).to_dict()
    assert d["live"] and d["modalities"] == ["video"] and "motion" not in d
    assert np.isclose(d["score"], 0.7)


def test_flat_gate_refuses_a_scene_that_moved_as_one_plane_with_sensors_only() -> None:
    """flat_gate_pct: with sensors, a capture the motion policy let through and whose cue was
    measured below the gate is refused whatever the network says; one without sensors (a
    webcam that need not move), one where the cue was not measured, or one above the gate is
    not; a motion refusal keeps its own reason; off (0) it never refuses."""
    fusion = FusionConfig(motion_gate=True, flat_gate_pct=0.3)
    cfg = dataclasses.replace(CFG, fusion=fusion)
    flat, deep, unmeasured = Relief(0.2, 30, 12), Relief(0.9, 30, 12), Relief(float("nan"), 3, 12)
    d = decide(0.999, True, agreement(), cfg, flat)
    assert not d.live and d.refused == "face_flat" and d.score == 0.0
    assert d.reasons[0]["code"] == "face_flat" and "0.30 %" in d.reasons[0]["message"]
    out = d.to_dict()
    assert out["rejected"] == "face_flat" and out["relief"]["misfit_pct"] == 0.2
    assert decide(0.999, True, agreement(), cfg, deep).live
    assert decide(0.999, True, agreement(), cfg, unmeasured).live
    assert decide(0.999, False, None, cfg, flat).live  # no sensors: not gated
    assert decide(0.999, True, agreement(), cfg, None).live
    still = decide(0.999, True, agreement("no_motion", float("nan"), ["no_motion"]), cfg, flat)
    assert still.refused == "no_motion"
    assert not flat_gated(True, flat, FusionConfig())
    assert flat_gated(True, flat, fusion) and not flat_gated(False, flat, fusion)
    assert FusionConfig.from_dict(fusion.to_dict()) == fusion
    assert FusionConfig.from_dict({"w_relief": 1.0}).flat_gate_pct == 0.0  # older files: off
    assert fusion.uses_relief and not FusionConfig().uses_relief


def test_near_flat_gate_refuses_a_flat_scene_at_arms_length_only() -> None:
    """near_gate_per_m: with sensors, a capture whose room reads near (room_per_m at or above
    the level) and whose scene moved as one plane (cue below near_flat_pct) is refused as
    "scene_flat", whatever the network says; a near room that is not flat (a body filling the
    view), a flat scene that is far (a bare wall behind), an unmeasured room (a turn in place),
    an unmeasured cue or no sensors are not; off (0) it never refuses; the file keeps it."""
    from liveness.config import MotionConfig

    fusion = FusionConfig(motion_gate=True, near_gate_per_m=1.4, near_flat_pct=0.6)
    cfg = dataclasses.replace(CFG, fusion=fusion, motion=MotionConfig(relief_source="motion"))
    near, far, unmeasured = agreement(), agreement(), agreement()
    near.room_per_m, far.room_per_m = 2.5, 0.5
    flat, deep = Relief(0.3, 30, 12, "frame"), Relief(2.0, 30, 12, "frame")
    d = decide(0.999, True, near, cfg, flat)
    assert not d.live and d.refused == "scene_flat" and d.score == 0.0
    assert d.reasons[0]["code"] == "scene_flat" and "0.40 m away" in d.reasons[0]["message"]
    assert d.to_dict()["motion"]["room_per_m"] == 2.5
    for a, r in ((near, deep), (far, flat), (unmeasured, flat), (near, None)):
        assert decide(0.999, True, a, cfg, r).live
        assert not near_flat_gated(a, r, fusion)
    assert decide(0.999, False, None, cfg, flat).live
    assert near_flat_gated(near, Relief(0.59, 30, 12, "frame"), fusion)
    assert not near_flat_gated(near, flat, FusionConfig())
    assert FusionConfig.from_dict(fusion.to_dict()) == fusion and fusion.uses_relief
    assert FusionConfig.from_dict({}).near_gate_per_m == 0.0  # older files: off
    with pytest.raises(ValueError, match="relief_source"):  # the cue on the motion tracks only
        dataclasses.replace(CFG, fusion=fusion)


def test_scene_gate_refuses_a_scene_that_moves_by_itself_only() -> None:
    """scene_gate: with sensors, a capture the motion policy let through whose scene moved
    beyond what the phone's motion explains (scene_misfit above the gate) is refused as
    "scene_moves", whatever the network says; at or below the gate, unmeasured (NaN), without
    sensors or with the gate off (0) it is not; the file keeps it; the gate needs the scene
    measured (motion.scene)."""
    from liveness.config import MotionConfig
    from liveness.decision import scene_moved

    fusion = FusionConfig(motion_gate=True, scene_gate=0.9)
    cfg = dataclasses.replace(CFG, fusion=fusion, motion=MotionConfig(scene=True))
    moving, still, unmeasured = agreement(), agreement(), agreement()
    moving.scene_misfit, still.scene_misfit = 1.4, 0.9
    d = decide(0.999, True, moving, cfg)
    assert not d.live and d.refused == "scene_moves" and d.score == 0.0
    assert d.reasons[0]["code"] == "scene_moves" and "1.40, above 0.90" in d.reasons[0]["message"]
    assert d.to_dict()["motion"]["scene_misfit"] == 1.4
    for a in (still, unmeasured):
        assert decide(0.999, True, a, cfg).live and not scene_moved(a, fusion)
    assert decide(0.999, False, None, cfg).live
    assert not scene_moved(moving, FusionConfig()) and not scene_moved(None, fusion)
    assert FusionConfig.from_dict(fusion.to_dict()) == fusion
    assert FusionConfig.from_dict({}).scene_gate == 0.0  # older files: off
    with pytest.raises(ValueError, match=r"motion\.scene"):
        dataclasses.replace(CFG, fusion=fusion)


def test_the_near_gate_alone_reads_the_cue_only_where_the_room_is_near(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A model whose only use of the cue is the near-and-flat gate measures it only where the
    room reads near (the verdict needs it nowhere else); forced (calibration) or with another
    use of the cue, everywhere."""
    from types import SimpleNamespace

    from liveness import decision
    from liveness.config import MotionConfig

    got = Relief(0.2, 14, 12, "frame")
    monkeypatch.setattr(decision, "motion_relief", lambda vm, c: SimpleNamespace(relief=got))
    gate = FusionConfig(near_gate_per_m=1.4, near_flat_pct=0.6)
    cfg = dataclasses.replace(CFG, fusion=gate, motion=MotionConfig(relief_source="motion"))
    clip = SimpleNamespace(frames=None, frame_t_ms=None)
    near_a, far_a = (
        SimpleNamespace(video="vm", room_per_m=2.0),
        SimpleNamespace(video="vm", room_per_m=0.5),
    )
    unmeasured = SimpleNamespace(video="vm", room_per_m=float("nan"))
    assert clip_relief(clip, cfg, motion=near_a) is got  # type: ignore[arg-type]
    assert clip_relief(clip, cfg, motion=far_a) is None  # type: ignore[arg-type]
    assert clip_relief(clip, cfg, motion=unmeasured) is None  # type: ignore[arg-type]
    assert clip_relief(clip, cfg, force=True, motion=far_a) is got  # type: ignore[arg-type]
    both = dataclasses.replace(cfg, fusion=dataclasses.replace(gate, flat_gate_pct=0.3))
    assert clip_relief(clip, both, motion=far_a) is got  # type: ignore[arg-type]


def test_relief_region_oval_ignores_the_face_box(monkeypatch: pytest.MonkeyPatch) -> None:
    """With relief_region "box" the cue's tracks start on the face check's best box in the
    first frame; with "oval" on the guide oval (no box) whatever was found; and a model whose
    fusion and gate do not use the cue does not measure it."""
    from types import SimpleNamespace

    from liveness import decision
    from liveness.config import MotionConfig

    seen: list[object] = []
    monkeypatch.setattr(decision, "relief", lambda f, t, c, box: seen.append(box))
    clip = SimpleNamespace(frames=None, frame_t_ms=None)
    faces = {0: [SimpleNamespace(score=0.5, box=(1, 2, 3, 4)), SimpleNamespace(score=0.9,
             box=(5, 6, 7, 8))]}  # fmt: skip
    gate = FusionConfig(flat_gate_pct=0.3)
    for region, want in (("box", (5, 6, 7, 8)), ("oval", None)):
        cfg = dataclasses.replace(CFG, fusion=gate, motion=MotionConfig(relief_region=region))
        clip_relief(clip, cfg, faces=faces)  # type: ignore[arg-type]
        assert seen.pop() == want
    assert clip_relief(clip, CFG, faces=faces) is None and not seen  # type: ignore[arg-type]


def test_relief_source_motion_reads_the_agreements_tracks(monkeypatch: pytest.MonkeyPatch) -> None:
    """With relief_source "motion" the cue comes from the capture's agreement (its VideoMotion),
    with no tracking of its own; without an agreement (no sensors) there is no cue."""
    from types import SimpleNamespace

    from liveness import decision
    from liveness.config import MotionConfig
    from liveness.motion import Relief

    own: list[object] = []
    monkeypatch.setattr(decision, "relief", lambda *a: own.append(a))
    got = Relief(0.2, 14, 12)

    def measured(vm: object, c: object) -> SimpleNamespace:
        return SimpleNamespace(relief=got if vm == "vm" else None)

    monkeypatch.setattr(decision, "motion_relief", measured)
    cfg = dataclasses.replace(CFG, fusion=FusionConfig(flat_gate_pct=0.3),
                              motion=MotionConfig(relief_source="motion"))  # fmt: skip
    clip = SimpleNamespace(frames=None, frame_t_ms=None)
    agreement = SimpleNamespace(video="vm")
    assert clip_relief(clip, cfg, motion=agreement) is got  # type: ignore[arg-type]
    assert clip_relief(clip, cfg, motion=None) is None  # type: ignore[arg-type]
    assert not own
