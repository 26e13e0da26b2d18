"""The configuration's round trip, and what files written before a field existed get."""

from __future__ import annotations

import pytest

from liveness.config import LivenessConfig, MotionConfig


def test_motion_config_round_trips() -> None:
    cfg = MotionConfig(lead_scale="z", lead_weight=3.0, gain_range=(0.3, 2.5))
    assert MotionConfig.from_dict(cfg.to_dict()) == cfg
    assert LivenessConfig.from_dict(LivenessConfig().to_dict()).motion == MotionConfig()


def test_files_written_before_the_lead_had_a_scale_keep_the_lead_on_r() -> None:
    """Their fusion was fitted on the scores they computed: the lead on r, weighted as saved
    (session 9's files: 4), or by 1 before the weight existed."""
    saved = MotionConfig().to_dict()
    del saved["lead_scale"]
    saved["lead_weight"] = 4.0
    assert (
        MotionConfig.from_dict(saved).lead_scale,
        MotionConfig.from_dict(saved).lead_weight,
    ) == (
        "r",
        4.0,
    )
    del saved["lead_weight"]
    older = MotionConfig.from_dict(saved)
    assert (older.lead_scale, older.lead_weight) == ("r", 1.0)
    # A configuration that says nothing about motion gets today's defaults.
    assert MotionConfig.from_dict({}) == MotionConfig()


def test_files_written_before_the_face_crop_keep_the_whole_frame() -> None:
    """A model calibrated with the flatness cue before relief_side existed fitted its weight on
    the cue measured over the whole frame: it keeps that (0); a new file gets the default."""
    saved = MotionConfig(relief_side=160).to_dict()
    assert MotionConfig.from_dict(saved).relief_side == 160
    del saved["relief_side"]
    assert MotionConfig.from_dict(saved).relief_side == 0


@pytest.mark.parametrize(
    ("name", "old"),
    [
        # tracks searched from where each corner was: fusion and gates fitted on those
        ("lk_seed", False),
        # agreement scores without the clock offset's prior: the fusion fitted on them
        ("offset_prior", 0.0),
        # scene misfits without the tracker's noise floor: the scene gate's level set on them
        ("scene_noise_px", 0.0),
    ],
)
def test_files_written_before_a_setting_keep_what_they_were_calibrated_with(
    name: str, old: object
) -> None:
    """A model calibrated before the setting existed had its fusion and gates fitted without
    it: it keeps the old behaviour; a new file has today's default."""
    now = getattr(MotionConfig(), name)
    assert now != old
    saved = MotionConfig().to_dict()
    assert getattr(MotionConfig.from_dict(saved), name) == now
    del saved[name]
    assert getattr(MotionConfig.from_dict(saved), name) == old


def test_lead_scale_must_be_known() -> None:
    with pytest.raises(ValueError, match="lead_scale"):
        MotionConfig(lead_scale="log")


@pytest.mark.parametrize(
    ("name", "default", "other"),
    [("relief_region", "box", "oval"), ("relief_source", "own", "motion")],
)
def test_the_cues_settings_are_checked_and_older_files_keep_the_default(
    name: str, default: str, other: str
) -> None:
    """relief_region box | oval, relief_source own | motion: round trip, a file written before
    the field existed reads the default, anything else is a clear error."""
    assert getattr(MotionConfig(), name) == default
    saved = MotionConfig(**{name: other}).to_dict()
    assert getattr(MotionConfig.from_dict(saved), name) == other
    del saved[name]
    assert getattr(MotionConfig.from_dict(saved), name) == default
    with pytest.raises(ValueError, match=name):
        MotionConfig(**{name: "face"})


def test_files_written_before_the_face_cut_keep_the_central_square() -> None:
    from liveness.config import PreprocessConfig

    saved = PreprocessConfig(face_crop=0.5).to_dict()
    assert PreprocessConfig.from_dict(saved).face_crop == 0.5
    del saved["face_crop"]
    assert PreprocessConfig.from_dict(saved).face_crop == 0.0
