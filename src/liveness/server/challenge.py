"""Motion challenges: drawn per session, judged from the gyro or, without sensors, the video."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from liveness.flow import focal_for, integrate_gyro, lucas_kanade, rotation_flow, to_gray

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
VIDEO_TURN_SHARE = 0.4  # parallax: an orbit about the face shows less turn in the background


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


def describe(cid: str, capture_ms: int) -> dict[str, Any]:
    """What the page shows: words, the first arrow and, per step, its arrow and time slot."""
    steps = parse_challenge(cid)
    slot = capture_ms / len(steps)
    text = WORDS[steps[0]] + "".join(f", then {s}" for s in steps[1:])
    return {
        "id": cid,
        "text": text[0].upper() + text[1:],
        "arrow": steps[0],
        "steps": [
            {
                "arrow": s,
                "text": WORDS[s][0].upper() + WORDS[s][1:],
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


def _step_rotations(cid: str, t0: float, t1: float, rotation: Any) -> list[tuple[str, np.ndarray]]:
    steps = parse_challenge(cid)
    edges = np.linspace(t0, t1, len(steps) + 1)
    return [(s, rotation(edges[k], edges[k + 1])) for k, s in enumerate(steps)]


def _judge(rots: list[tuple[str, np.ndarray]], min_deg: float, source: str) -> Judgement:
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
    rots = _step_rotations(cid, t[0], t[-1], lambda a, b: integrate_gyro(imu, a, b))
    return _judge(rots, min_deg, "imu")


def video_rotation(
    frames: np.ndarray, t_ms: np.ndarray, max_pairs: int = 15, width: int = 48
) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative device rotation (K, 3) rad seen in the video at times (K,), by fitting the
    flow a small rotation predicts (flow.rotation_flow) to LK flow outside the face oval."""
    n, w = frames.shape[0], frames.shape[2]
    idx = np.unique(np.linspace(0, n - 1, min(n, max_pairs + 1)).round().astype(int))
    factor = max(1, w // width)
    grays = [to_gray(frames[i], factor) for i in idx]
    gh, gw = grays[0].shape
    f = focal_for(gw)
    vv, uu = np.mgrid[0:gh, 0:gw].astype(np.float64)
    u, v = uu.ravel() + 0.5, vv.ravel() + 0.5
    # The background (outside the central oval, where the face sits) shows the phone's turn.
    outside = ((u - gw / 2) / (0.3 * gw)) ** 2 + ((v - gh / 2) / (0.3 * gh)) ** 2 > 1.0
    eps = 1e-3
    jac = np.stack([rotation_flow(eps * e, u, v, gw, gh, f) / eps for e in np.eye(3)], -1)
    cum = [np.zeros(3)]
    for a, b in itertools.pairwise(grays):
        flow, conf = lucas_kanade(a, b)
        fl = flow.reshape(-1, 2).astype(np.float64)
        c = conf.ravel().astype(np.float64) * outside
        sw = np.sqrt(c / max(c.max(), 1e-12))[:, None]
        a_mat = (jac * sw[..., None]).reshape(-1, 3)  # (2P, 3)
        delta, *_ = np.linalg.lstsq(a_mat, (fl * sw).reshape(-1), rcond=None)
        cum.append(cum[-1] + delta)
    return np.asarray(t_ms, dtype=np.float64)[idx], np.array(cum)


def judge_video(cid: str, frames: np.ndarray, frame_t_ms: np.ndarray, min_deg: float) -> Judgement:
    """Without sensors: the same rule on the turn the video shows (threshold x VIDEO_TURN_SHARE)."""
    t, cum = video_rotation(frames, frame_t_ms)

    def rot(a: float, b: float) -> np.ndarray:
        at = np.array([np.interp(a, t, cum[:, k]) for k in range(3)])
        bt = np.array([np.interp(b, t, cum[:, k]) for k in range(3)])
        return bt - at

    rots = _step_rotations(cid, t[0], t[-1], rot)
    return _judge(rots, min_deg * VIDEO_TURN_SHARE, "video")


def judge(
    cid: str, frames: np.ndarray, frame_t_ms: np.ndarray, imu: np.ndarray | None, min_deg: float
) -> Judgement:
    """From the gyro when the capture has sensors, else from the video."""
    if imu is not None:
        return judge_imu(cid, imu, frame_t_ms, min_deg)
    return judge_video(cid, frames, frame_t_ms, min_deg)
