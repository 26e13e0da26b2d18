"""Judging a capture's challenge from its video: signs from physics, the gyro checked against
the video, the view of the face (liveness.judge)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from liveness.challenge import judge_imu
from liveness.config import SynthConfig
from liveness.face import Face, FaceDetector
from liveness.judge import face_rotation, judge, judge_video, video_agrees
from liveness.motion import VideoMotion, focal_px, rotation_jacobian
from liveness.synth.atlas import sample_atlas
from liveness.synth.capture import live_capture
from liveness.synth.scene import Person
from liveness.synth.sequence import render_sequence
from liveness.synth.trajectory import DevicePath, Wobble, min_jerk

FACE = np.zeros(3)
# The user at the world origin looks along +x, z up (as in liveness.synth).
FORWARD, UP = np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.0, 1.0])
USERS_LEFT = np.cross(UP, FORWARD)
TOWARD = {"left": USERS_LEFT, "right": -USERS_LEFT, "up": UP, "down": -UP}


@dataclass
class _HeadTurn(Wobble):
    rotvec: np.ndarray = field(default_factory=lambda: np.zeros(3))

    def __call__(self, t: np.ndarray) -> np.ndarray:
        return super().__call__(t) + min_jerk(t, 0.2, 1.8)[:, None] * self.rotvec[None]


def _render(seed: int, phone_to: np.ndarray | None, nose_to: np.ndarray | None) -> np.ndarray:
    """10 frames over 2 s: the phone orbits 15° around the face toward `phone_to`, or it stays
    put and the head turns 15° so that the nose swings toward `nose_to`."""
    rng = np.random.default_rng(seed)
    cap = live_capture(rng, sample_atlas(rng), SynthConfig(), 2.0, "left", 96, 128, distance=0.25)
    axis = np.cross(FORWARD, phone_to) if phone_to is not None else np.zeros(3)
    cap.path = DevicePath(target=FACE, eye=0.25 * FORWARD, orbit=np.radians(15) * axis)
    if nose_to is not None:
        person = cap.objects[0]
        assert isinstance(person, Person)
        w = person.head_rot
        person.head_rot = _HeadTurn(
            w.freq, w.amp, w.phase, np.radians(15) * np.cross(FORWARD, nose_to)
        )
    return cap.frames(np.linspace(0.0, 2.0, 10), rng)


@pytest.mark.parametrize(("direction", "delta"), [("left", (0, 1, 0)), ("up", (1, 0, 0))])
def test_video_sign_from_rotation_flow(direction: str, delta: tuple[float, ...]) -> None:
    """Frames made by moving a texture the way motion.rotation_jacobian says a turn about the
    device axis moves the image (contract axes) are judged as that turn."""
    rng = np.random.default_rng(0)
    h, w = 128, 96
    tex = rng.random((h // 4 + 8, w // 4 + 8))
    big = np.kron(tex, np.ones((4, 4)))  # blocky texture, LK-friendly
    n = 20
    f = focal_px(w, 65.0)
    step = np.radians(10.0) / (n - 1) * np.array(delta, dtype=float)
    frames, shift = [], np.zeros(2)
    for _ in range(n):
        ox, oy = (int(v) for v in np.round(16 - shift))
        g = big[oy : oy + h, ox : ox + w]
        frames.append(np.repeat((g * 255).astype(np.uint8)[..., None], 3, -1))
        # Image motion at the centre for this turn step (pure shift for small angles).
        shift += rotation_jacobian(np.array([w / 2]), np.array([h / 2]), w, h, f)[0] @ step
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


@pytest.mark.parametrize("direction", ["left", "right", "up", "down"])
def test_face_pose_sign_from_rendering(direction: str) -> None:
    """The face cue reads a phone orbit toward the user's left/right/up/down as that move, and
    (a fixed camera) the head turn that shows the camera the same view: the nose swinging the
    opposite way (phone left = head right, phone up = head down)."""
    det = FaceDetector()
    e = np.array({"left": (0, 1), "right": (0, -1), "up": (1, 0), "down": (-1, 0)}[direction])
    t_ms = np.linspace(0.0, 2000.0, 10)
    for frames in (_render(1, TOWARD[direction], None), _render(2, None, -TOWARD[direction])):
        turn = face_rotation(frames, t_ms, 1, det)[0]  # (rx, ry) degrees
        assert turn @ e >= 5.0 and turn @ e > abs(turn @ e[::-1]), turn


def test_video_only_capture_passes_its_challenge_and_not_the_reversed_one() -> None:
    det = FaceDetector()
    for cid, seed in (("left-up", 0), ("down-right", 1)):
        r = render_sequence(cid.split("-"), seed, has_imu=False)
        assert judge_video(cid, r.frames, r.frame_t_ms, 5.0, det).followed
        reversed_cid = "-".join(reversed(cid.split("-")))
        assert not judge_video(reversed_cid, r.frames, r.frame_t_ms, 5.0, det).followed


class FaceLess:
    """A face detector that finds nothing (the face cue is then absent)."""

    def scan(self, frame: np.ndarray, threshold: float) -> tuple[list[Any], Any]:
        return [], None


def _vm_turning(rate_y: float, n: int = 30) -> VideoMotion:
    """A video whose background turns about +y at rate_y rad/s (per 50 ms interval)."""
    t = 1000.0 + 50.0 * np.arange(n + 1)
    rot = np.tile([0.0, rate_y * 0.05, 0.0], (n, 1))
    ones, z = np.ones(n), np.zeros((n, 3))
    return VideoMotion(t[:-1], t[1:], rot, ones, z, ones, 190.0, (240, 320), (120, 160, 72, 96), [])


@pytest.mark.parametrize(("video_rate", "followed"), [(0.15, True), (0.05, True), (-0.15, False),
                                                      (0.0, False), (0.01, False)])  # fmt: skip
def test_with_sensors_the_video_must_turn_the_asked_way(video_rate: float, followed: bool) -> None:
    """Gyro rows say "left" (+y, 0.2 rad/s, 1.5 s: 17°); the video must show at least
    VIDEO_AGREE_SHARE of that turn the same way (forged rows under another move's frames fail)."""
    t = 1000.0 + 50.0 * np.arange(31)
    ti = np.arange(900.0, 2700.0, 10.0)
    imu = np.column_stack(
        [ti, np.tile([0, 9.81, 0], (len(ti), 1)), np.tile([0, 0.2, 0], (len(ti), 1))]
    )
    frames = np.zeros((31, 8, 8, 3), np.uint8)
    vm = _vm_turning(video_rate)
    j = video_agrees(judge_imu("left", imu, t, 5.0), vm, "left", frames, t, 5.0, FaceLess())
    assert j.judged_from == "imu+video" and j.followed is followed, j.detail
    assert "video_along_deg" in j.steps[0]


def test_face_rotation_reuses_known_detections() -> None:
    """Frames the face check already scanned are not scanned again, and the turn is the same."""
    det = FaceDetector()
    frames = _render(1, TOWARD["left"], None)
    t_ms = np.linspace(0.0, 2000.0, len(frames))
    scanned: list[int] = []

    class Counting:
        def scan(self, frame: np.ndarray, min_score: float) -> tuple[list[Face], float]:
            scanned.append(
                next(i for i in range(len(frames)) if np.shares_memory(frame, frames[i]))
            )
            return det.scan(frame, min_score)

    fresh = face_rotation(frames, t_ms, 1, Counting())
    first = sorted(scanned)
    known = {0: det.scan(frames[0], 0.5)[0], len(frames) - 1: det.scan(frames[-1], 0.5)[0]}
    scanned.clear()
    again = face_rotation(frames, t_ms, 1, Counting(), known)
    np.testing.assert_array_equal(again, fresh)
    assert sorted(scanned) == [i for i in first if i not in known] and len(scanned) < len(first)
