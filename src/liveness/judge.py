"""Whether a capture followed its challenge: the gyro's judgement checked against the video, or
without sensors the video alone (the view of the face and the room's rotation).

Signs and axes: liveness.challenge (DIRECTIONS) and ../shared/CONTRACT.md.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np

from liveness.challenge import DIRECTIONS, Judgement, judge_imu, parse_challenge, step_rotations
from liveness.config import MotionConfig
from liveness.motion import Agreement, VideoMotion, video_motion

VIDEO_TURN_SHARE = 0.4  # parallax: an orbit about the face shows less turn in the background
FACE_MIN_SHARE = 0.5  # the face sees only the orbit part of a move (not the tilt): lower bar
WRONG_FACTOR = 1.6  # a cue going this many thresholds the wrong way vetoes the step


# The room's turn over a whole step is a sum of every interval's background fit, so an
# interval with too few background points (its rotation then 0) loses part of the turn: the
# video-only judge tracks 150 corners found afresh in every frame, not the motion check's 60
# carried over (bench_challenge.py, pairs: orbits at 96 × 128 judged on face and background
# pass 0.812 -> 0.938, at 240 × 320 0.792 -> 0.833; docs/SERVICE.md). It runs only without
# sensors, where no motion check is made.
JUDGE_TRACKING = MotionConfig(max_corners=150, redetect_share=1.0)


def video_rotation(
    frames: np.ndarray, t_ms: np.ndarray, cfg: MotionConfig | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative device rotation (K, 3) rad seen in the video at the frame times (K,): the
    per-interval rotations of motion.video_motion (background outside the guide oval), summed;
    tracked with cfg, by default JUDGE_TRACKING."""
    vm = video_motion(frames, t_ms, cfg or JUDGE_TRACKING)
    cum = np.vstack([np.zeros((1, 3)), np.cumsum(vm.rot, axis=0)])
    return np.asarray(t_ms, dtype=np.float64), cum


FACE_LEVER = 1.6  # nose tip to ear midpoint depth, inter-eye distances (face.pose_proxies)
FACE_FRAMES = 10  # most frames scanned for the face per capture (BlazeFace: ~1-2 ms each)
FACE_SCORE = 0.5  # the face check's threshold too, so its detections can be reused


def face_rotation(
    frames: np.ndarray,
    t_ms: np.ndarray,
    n_steps: int,
    detector: Any,
    known: Mapping[int, list[Any]] | None = None,
) -> np.ndarray:
    """Per step (n_steps, 2): the turn (rx, ry) in degrees of the camera's view of the face,
    from BlazeFace keypoints on a few frames at the steps' time-slot edges; NaN without a face.
    `known`: frames already scanned whole at score >= FACE_SCORE (the face check's
    FaceCheck.faces), by index; the detector runs only on the others.

    Orbiting the phone to the user's left, or the user turning their head to their right in
    front of a fixed camera, shows more of their left cheek: the nose moves toward image −u
    relative to the ears (u runs along device −x, frames unmirrored). Moving the phone up, or
    tilting the head down, moves the nose toward +v relative to the ears. So a view turn +ry
    ("left") lowers the sideways proxy and +rx ("up") raises the down proxy.
    """
    from liveness.face import pose_proxies

    t = np.asarray(t_ms, dtype=np.float64)
    edges = np.linspace(t[0], t[-1], n_steps + 1)
    per_edge = max(1, min(3, FACE_FRAMES // (n_steps + 1)))
    poses = np.full((n_steps + 1, 2), np.nan)
    for k, edge in enumerate(edges):
        # The frames nearest each edge: people rest between moves, so averaging them is fair.
        near = np.argsort(np.abs(t - edge), kind="stable")[:per_edge]
        got = []
        for i in near:
            faces = known[i] if known and i in known else detector.scan(frames[i], FACE_SCORE)[0]
            if faces:
                got.append(pose_proxies(faces[0].keypoints))
        if got:
            poses[k] = np.mean(got, axis=0)
    delta = np.diff(poses, axis=0)  # (n_steps, 2): sideways, down
    turn = np.arcsin(np.clip(delta / FACE_LEVER, -1.0, 1.0))
    return np.degrees(np.column_stack([turn[:, 1], -turn[:, 0]]))


@functools.cache
def _detector() -> tuple[Any, threading.Lock]:
    """The judge's own face detector (not thread-safe: used under its lock)."""
    from liveness.face import FaceDetector

    return FaceDetector(), threading.Lock()


def face_turns(
    frames: np.ndarray,
    t_ms: np.ndarray,
    n_steps: int,
    detector: Any,
    known: Mapping[int, list[Any]] | None = None,
) -> np.ndarray:
    """face_rotation with the given detector, or the judge's own one under its lock."""
    if detector is not None:
        return face_rotation(frames, t_ms, n_steps, detector, known)
    det, lock = _detector()
    with lock:
        return face_rotation(frames, t_ms, n_steps, det, known)


def video_cues(
    frames: np.ndarray,
    t_ms: np.ndarray,
    n_steps: int,
    detector: Any = None,
    known: Mapping[int, list[Any]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per step (n_steps, 2) turns (rx, ry) in degrees: the face's view (face_rotation) and the
    background's rotation (video_rotation), the latter scaled up by 1 / VIDEO_TURN_SHARE."""
    t, cum = video_rotation(frames, t_ms)
    edges = np.linspace(t[0], t[-1], n_steps + 1)
    at = np.column_stack([np.interp(edges, t, cum[:, k]) for k in range(2)])
    background = np.degrees(np.diff(at, axis=0)) / VIDEO_TURN_SHARE
    return face_turns(frames, t_ms, n_steps, detector, known), background


def judge_cues(cid: str, face: np.ndarray, background: np.ndarray, min_deg: float) -> Judgement:
    """A step passes when either cue goes its way by its threshold (face: min_deg x
    FACE_MIN_SHARE, background: min_deg) and more than sideways, and neither goes the wrong way
    by WRONG_FACTOR thresholds; a missing face leaves the background alone (bench_challenge.py
    chose these numbers)."""
    parts, rows, ok_all = [], [], True
    for k, direction in enumerate(parse_challenge(cid)):
        e = np.array(DIRECTIONS[direction])
        side = np.array([-e[1], e[0]])
        step: dict[str, Any] = {"direction": direction}
        oks, wrong = [], False
        for name, cue, bar in (
            ("face", face[k], min_deg * FACE_MIN_SHARE),
            ("background", background[k], min_deg),
        ):
            if not np.all(np.isfinite(cue)):
                step[name] = None
                continue
            along, across = float(cue @ e), float(abs(cue @ side))
            oks.append(along >= bar and along > across)
            wrong |= along <= -WRONG_FACTOR * bar
            step[name] = {"along_deg": round(along, 2), "across_deg": round(across, 2)}
            parts.append(f"{direction} ({name}): {along:.1f}° that way, {across:.1f}° across")
        ok = any(oks) and not wrong
        ok_all &= ok
        step["ok"] = ok
        rows.append(step)
    verdict = "followed" if ok_all else "not followed"
    detail = f"{verdict} (video; need >= {min_deg:g}° per step): " + "; ".join(parts)
    return Judgement(ok_all, "video", detail, rows)


def judge_video(
    cid: str,
    frames: np.ndarray,
    frame_t_ms: np.ndarray,
    min_deg: float,
    detector: Any = None,
    known: Mapping[int, list[Any]] | None = None,
) -> Judgement:
    """Without sensors: from the view of the face and the background's rotation (judge_cues)."""
    n_steps = len(parse_challenge(cid))
    face, background = video_cues(frames, frame_t_ms, n_steps, detector, known)
    return judge_cues(cid, face, background, min_deg)


VIDEO_AGREE_SHARE = 0.2  # the video must show this share of the gyro's turn, each step's way


def video_agrees(
    judged: Judgement,
    vm: VideoMotion,
    cid: str,
    frames: np.ndarray,
    frame_t_ms: np.ndarray,
    min_deg: float,
    detector: Any = None,
    known: Mapping[int, list[Any]] | None = None,
) -> Judgement:
    """With sensors, the gyro's judgement stands only if the video turned the same way in each
    step: the room behind the user by at least VIDEO_AGREE_SHARE of the gyro's turn (from the
    motion check's own per-interval rotations, no second tracking), or, where the room shows
    too little (an arc around the face turns the view of the face more than the room), the
    view of the face by the video-only bar (judge_cues). Sensor rows recorded for the asked
    move under frames of another move fail here (issue 12: forged sensor rows)."""
    steps = parse_challenge(cid)
    cum = np.vstack([np.zeros((1, 3)), np.cumsum(vm.rot, axis=0)])
    t = np.r_[vm.t0_ms[0], vm.t1_ms]
    rots = step_rotations(cid, t[0], t[-1], lambda a, b: np.array(
        [np.interp(b, t, cum[:, j]) - np.interp(a, t, cum[:, j]) for j in range(3)]))  # fmt: skip
    face: np.ndarray | None = None
    ok_all, parts = judged.followed, []
    for k, (row, (direction, rot)) in enumerate(zip(judged.steps, rots, strict=True)):
        e = np.array(DIRECTIONS[direction])
        along = float(np.degrees(rot[:2]) @ e)
        ok = along > 0 and along >= VIDEO_AGREE_SHARE * max(row["along_deg"], 0.0)
        row["video_along_deg"] = round(along, 2)
        if not ok:
            if face is None:
                face = face_turns(frames, frame_t_ms, len(steps), detector, known)
            f_along = float(face[k] @ e) if np.all(np.isfinite(face[k])) else float("nan")
            row["face_along_deg"] = round(f_along, 2) if np.isfinite(f_along) else None
            ok = bool(np.isfinite(f_along) and f_along >= min_deg * FACE_MIN_SHARE)
        row["ok"] = bool(row["ok"] and ok)
        ok_all &= ok
        parts.append(f"{direction}: video {along:.1f}°")
    verdict = "followed" if ok_all else "not followed"
    detail = (f"{verdict} (imu and video; the video must turn each step's way by >= "
              f"{VIDEO_AGREE_SHARE:g} of the gyro's turn, or the face's view by >= "
              f"{min_deg * FACE_MIN_SHARE:g}°): {judged.detail.split(': ', 1)[-1]}; "
              + "; ".join(parts))  # fmt: skip
    return Judgement(ok_all, "imu+video", detail, judged.steps)


def judge(
    cid: str,
    frames: np.ndarray,
    frame_t_ms: np.ndarray,
    imu: np.ndarray | None,
    min_deg: float,
    motion: Agreement | None = None,
    known: Mapping[int, list[Any]] | None = None,
) -> Judgement:
    """From the gyro when the capture has sensors, else from the video alone. Given the capture's
    motion agreement, the video must also turn each step's way (video_agrees) and follow the
    gyro as a whole (motion.status "agrees"): the gyro rows alone are the client's word.
    `known`: the face check's whole-frame detections by frame index (FaceCheck.faces), reused."""
    if imu is not None:
        judged = judge_imu(cid, imu, frame_t_ms, min_deg)
        if motion is None or motion.video is None:
            return judged
        judged = video_agrees(judged, motion.video, cid, frames, frame_t_ms, min_deg, known=known)
        if motion.status != "agrees":
            judged.followed = False
            judged.detail = f"not followed: {motion.words()}; " + judged.detail.split(": ", 1)[-1]
        return judged
    return judge_video(cid, frames, frame_t_ms, min_deg, known=known)
