"""Challenges: ids and words, the gyro's signs derived from physics, replay across sessions."""

from __future__ import annotations

import numpy as np
import pytest

from liveness.challenge import (
    DEFAULT_CHALLENGES,
    NAMED_SETS,
    challenge_set,
    describe,
    judge_imu,
    parse_challenge,
)
from liveness.synth.sequence import render_sequence
from liveness.synth.trajectory import DevicePath, imu_from_pose

FACE = np.zeros(3)


def _imu_of(path: DevicePath) -> tuple[np.ndarray, np.ndarray]:
    t = np.linspace(0.0, 2.0, 201)
    gyro, acc = imu_from_pose(path, t)
    return np.column_stack([1000 * t, acc, gyro]), 1000 * np.linspace(0.0, 2.0, 30)


@pytest.mark.parametrize("direction", ["left", "right", "up", "down"])
def test_gyro_sign_from_the_pose(direction: str) -> None:
    """The user (world origin, looking along +x, z up) holds the phone in front of the face;
    the phone swings around the face toward the user's left (+y = up x forward), right, up
    or down. The gyro comes from the poses alone (imu_from_pose), not from any convention."""
    forward, up = np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.0, 1.0])
    users_left = np.cross(up, forward)
    towards = {"left": users_left, "right": -users_left, "up": up, "down": -up}[direction]
    axis = np.cross(forward, towards)  # rotating `forward` toward `towards`
    path = DevicePath(target=FACE, eye=0.3 * forward, orbit=np.radians(15) * axis, t0=0.1, t1=1.9)
    imu, t_frames = _imu_of(path)
    assert judge_imu(direction, imu, t_frames, 5.0).followed
    others = [d for d in ("left", "right", "up", "down") if d != direction]
    assert not any(judge_imu(o, imu, t_frames, 5.0).followed for o in others)


def test_replayed_capture_fails_every_other_challenge() -> None:
    r = render_sequence(["left", "up"], 3)
    assert r.imu is not None
    passed = [c for c in DEFAULT_CHALLENGES if judge_imu(c, r.imu, r.frame_t_ms, 5.0).followed]
    assert passed == ["left-up"]


def test_sets_and_descriptions() -> None:
    assert len(NAMED_SETS["pairs"]) == 12 and len(NAMED_SETS["triples"]) == 36
    assert challenge_set("single,left-up") == ("left", "right", "up", "down", "left-up")
    for bad in ("sideways", "left-left", "", "left-up-down-right-up"):
        with pytest.raises(ValueError):
            challenge_set(bad) if bad == "" else parse_challenge(bad)
    d = describe("left-up", 2000)
    assert d["arrow"] == "left" and d["text"].startswith("Move the phone to your left")
    assert [(s["start_ms"], s["end_ms"]) for s in d["steps"]] == [(0, 1000), (1000, 2000)]


def test_head_words_are_the_equivalent_move() -> None:
    d = describe("left-up", 2000)
    assert (
        d["id"] == "left-up" and d["text_head"] == "Turn your head to your right, then tilt it down"
    )
    assert [s["text_head"] for s in d["steps"]] == [
        "Turn your head to your right",
        "Tilt your head down",
    ]
