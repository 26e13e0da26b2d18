"""Challenges: signs derived from physics, judging from gyro and video, replay across sessions."""

from __future__ import annotations

import numpy as np
import pytest

from liveness.flow import focal_for, rotation_flow
from liveness.server.challenge import (
    DEFAULT_CHALLENGES,
    NAMED_SETS,
    challenge_set,
    describe,
    judge,
    judge_imu,
    judge_video,
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


@pytest.mark.parametrize(("direction", "delta"), [("left", (0, 1, 0)), ("up", (1, 0, 0))])
def test_video_sign_from_rotation_flow(direction: str, delta: tuple[float, ...]) -> None:
    """Frames made by moving a texture the way flow.rotation_flow says a turn about the
    device axis moves the image (contract axes) are judged as that turn."""
    rng = np.random.default_rng(0)
    h, w = 128, 96
    tex = rng.random((h // 4 + 8, w // 4 + 8))
    big = np.kron(tex, np.ones((4, 4)))  # blocky texture, LK-friendly
    n = 20
    f = focal_for(w)
    step = np.radians(10.0) / (n - 1) * np.array(delta, dtype=float)
    frames, shift = [], np.zeros(2)
    for _ in range(n):
        ox, oy = (int(v) for v in np.round(16 - shift))
        g = big[oy : oy + h, ox : ox + w]
        frames.append(np.repeat((g * 255).astype(np.uint8)[..., None], 3, -1))
        # Image motion at the centre for this turn step (pure shift for small angles).
        shift += rotation_flow(step, np.array([w / 2]), np.array([h / 2]), w, h, f)[0]
    t = np.arange(n) * 100.0
    assert judge_video(direction, np.stack(frames), t, 5.0).followed
    opposite = {"left": "right", "up": "down"}[direction]
    assert not judge_video(opposite, np.stack(frames), t, 5.0).followed


@pytest.mark.parametrize("seed", [0, 1])
def test_rendered_sequences_are_judged(seed: int) -> None:
    for cid in ("left-up", "down-right"):
        r = render_sequence(cid.split("-"), seed)
        assert r.imu is not None
        assert judge(cid, r.frames, r.frame_t_ms, r.imu, 5.0).followed
        swapped = "-".join(reversed(cid.split("-")))
        assert not judge(swapped, r.frames, r.frame_t_ms, r.imu, 5.0).followed
        assert judge(cid, r.frames, r.frame_t_ms, None, 5.0).judged_from == "video"


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
