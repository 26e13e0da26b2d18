"""Motion challenges: the ids drawn per session, what the page says, and judging one from the gyro.

The video's side of judging (with sensors the video must agree; without them it decides) is
liveness.judge.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from liveness.motion import gyro_angle, gyro_over

# A step turns the phone about a device axis (CONTRACT.md axes, right-hand rule). Moving the
# phone to the user's left around their face (or turning it in place the same way) is a
# positive rotation about device +y; moving it up (it then points down at the face) is a
# positive rotation about device +x. Unit vectors in (rx, ry):
DIRECTIONS: dict[str, tuple[float, float]] = {
    "left": (0.0, 1.0),
    "right": (0.0, -1.0),
    "up": (1.0, 0.0),
    "down": (-1.0, 0.0),
}
WORDS = {
    "left": "move the phone to your left",
    "right": "move the phone to your right",
    "up": "move the phone up",
    "down": "move the phone down",
}
# Without motion sensors (a desktop webcam cannot move) the user turns their head instead:
# the camera then sees the face the way it would after the phone's move. Phone to the user's
# left shows more of their left cheek, as does turning the head to their right; phone up looks
# down on the face, as does tilting the head down (face_rotation measures exactly this).
HEAD_WORDS = {
    "left": "turn your head to your right",
    "right": "turn your head to your left",
    "up": "tilt your head down",
    "down": "tilt your head up",
}
HEAD_THEN = {  # the same, as a later step: "..., then tilt it down"
    "left": "turn it to your right",
    "right": "turn it to your left",
    "up": "tilt it down",
    "down": "tilt it up",
}


def _sequences(k: int) -> tuple[str, ...]:
    """All k-step sequences whose consecutive steps differ (k=2: 12 ids such as "left-up")."""
    out = []
    for seq in itertools.product(DIRECTIONS, repeat=k):
        if all(a != b for a, b in itertools.pairwise(seq)):
            out.append("-".join(seq))
    return tuple(out)


NAMED_SETS: dict[str, tuple[str, ...]] = {
    "single": tuple(DIRECTIONS),
    "pairs": _sequences(2),
    "triples": _sequences(3),
}
DEFAULT_CHALLENGES = NAMED_SETS["pairs"]


def parse_challenge(cid: str) -> tuple[str, ...]:
    """ "left-up" -> ("left", "up"); raises ValueError for anything else."""
    steps = tuple(cid.split("-"))
    if not 1 <= len(steps) <= 4 or any(s not in DIRECTIONS for s in steps):
        raise ValueError(
            f"unknown challenge {cid!r}: 1 to 4 of {', '.join(DIRECTIONS)} joined by '-'"
        )
    if any(a == b for a, b in itertools.pairwise(steps)):
        raise ValueError(f"challenge {cid!r}: the same direction twice in a row is one move")
    return steps


def challenge_set(spec: Sequence[str] | str) -> tuple[str, ...]:
    """Named sets ("pairs") and/or explicit ids, comma-separated or as a sequence; validated."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    out: list[str] = []
    for item in (s.strip() for s in items):
        for cid in NAMED_SETS.get(item, (item,)):
            parse_challenge(cid)
            if cid not in out:
                out.append(cid)
    if not out:
        raise ValueError("the challenge set is empty")
    return tuple(out)


def draw(challenges: Sequence[str]) -> str:
    """One challenge, uniformly at random from a cryptographic source."""
    return secrets.choice(list(challenges))


def duration_ms(cid: str, base_ms: int) -> int:
    """Capture length for a challenge: the base (2 s) for up to two steps, 1 s per step beyond."""
    return max(base_ms, 1000 * len(parse_challenge(cid)))


def _cap(text: str) -> str:
    return text[0].upper() + text[1:]


def describe(cid: str, capture_ms: int) -> dict[str, Any]:
    """What the page shows: words, the first arrow and, per step, its arrow and time slot;
    `text_head` is the same challenge for a user without motion sensors (turn the head)."""
    steps = parse_challenge(cid)
    slot = capture_ms / len(steps)
    text = WORDS[steps[0]] + "".join(f", then {s}" for s in steps[1:])
    head = HEAD_WORDS[steps[0]] + "".join(f", then {HEAD_THEN[s]}" for s in steps[1:])
    return {
        "id": cid,
        "text": _cap(text),
        "text_head": _cap(head),
        "arrow": steps[0],
        "steps": [
            {
                "arrow": s,
                "text": _cap(WORDS[s]),
                "text_head": _cap(HEAD_WORDS[s]),
                "start_ms": round(k * slot),
                "end_ms": round((k + 1) * slot),
            }
            for k, s in enumerate(steps)
        ],
    }


@dataclass
class Judgement:
    followed: bool
    judged_from: str  # "imu" | "video"
    detail: str
    steps: list[dict[str, Any]] = field(default_factory=list)


def step_rotations(cid: str, t0: float, t1: float, rotation: Any) -> list[tuple[str, np.ndarray]]:
    """(direction, rotation(start, end)) per step: each step's equal share of [t0, t1]."""
    steps = parse_challenge(cid)
    edges = np.linspace(t0, t1, len(steps) + 1)
    return [(s, rotation(edges[k], edges[k + 1])) for k, s in enumerate(steps)]


def judge_turns(rots: list[tuple[str, np.ndarray]], min_deg: float, source: str) -> Judgement:
    """Each step's turn (rx, ry) must go the step's way by >= min_deg and more than sideways."""
    parts, rows, ok_all = [], [], True
    for direction, rot in rots:
        e = np.array(DIRECTIONS[direction])
        r = np.degrees(rot[:2])
        along = float(r @ e)
        across = float(abs(r @ np.array([-e[1], e[0]])))
        ok = along >= min_deg and along > across
        ok_all &= ok
        rows.append({"direction": direction, "along_deg": round(along, 2),
                     "across_deg": round(across, 2), "ok": ok})  # fmt: skip
        parts.append(f"{direction}: {along:.1f}° that way, {across:.1f}° across")
    verdict = "followed" if ok_all else "not followed"
    detail = f"{verdict} ({source}; need >= {min_deg:g}° per step): " + "; ".join(parts)
    return Judgement(ok_all, source, detail, rows)


def judge_imu(cid: str, imu: np.ndarray, frame_t_ms: np.ndarray, min_deg: float) -> Judgement:
    """Integrate the gyro over each step's share of the frames' time span."""
    t = np.asarray(frame_t_ms, dtype=np.float64)
    t_imu, angle = gyro_angle(imu)
    rots = step_rotations(cid, t[0], t[-1], lambda a, b: gyro_over(t_imu, angle, a, b))
    return judge_turns(rots, min_deg, "imu")
