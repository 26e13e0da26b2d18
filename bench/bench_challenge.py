"""Challenge judging accuracy and the replay-match probability, on rendered synthetic captures.

Usage: python bench/bench_challenge.py [--per-challenge 3] [--set pairs] [--kinds orbit,head]

orbit: the phone moves around the face (liveness.synth.sequence), judged from the gyro and,
ignoring the gyro, from the video; head: a fixed camera (a desktop webcam) and a person turning
their head the equivalent way (phone left = head right, phone up = head down), video only.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

from liveness.challenge import challenge_set, judge_imu, judge_turns, parse_challenge
from liveness.config import SynthConfig
from liveness.face import FaceDetector
from liveness.judge import VIDEO_TURN_SHARE, judge_cues, video_cues
from liveness.synth.atlas import sample_atlas
from liveness.synth.capture import live_capture
from liveness.synth.scene import Person
from liveness.synth.sequence import render_sequence
from liveness.synth.settings import frame_size
from liveness.synth.trajectory import DevicePath, Wobble, min_jerk, sample_times

MIN_DEG = 5.0
FORWARD, UP = np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.0, 1.0])  # the user looks along +x
USERS_LEFT = np.cross(UP, FORWARD)
# The head turn equivalent to each phone move, as a direction the nose swings toward.
HEAD_TOWARD = {"left": -USERS_LEFT, "right": USERS_LEFT, "up": -UP, "down": UP}


@dataclass
class HeadTurns(Wobble):
    """Head drift (the Wobble) plus min-jerk turns: (rotvec (3,), t0, t1) added one by one."""

    turns: tuple[tuple[np.ndarray, float, float], ...] = ()

    def __call__(self, t: np.ndarray) -> np.ndarray:
        out = super().__call__(t)
        for rotvec, t0, t1 in self.turns:  # small angles: rotation vectors add
            out = out + min_jerk(t, t0, t1)[:, None] * rotvec[None]
        return out


def render_head_turns(
    steps: list[str],
    seed: int,
    duration: float = 2.0,
    fps: float = 15.0,
    cfg: SynthConfig | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Frames (T, H, W, 3) and times (T,) ms: a fixed camera 0.3-0.6 m in front of a person who
    turns their head 10-20° per step toward HEAD_TOWARD[step], with the same timing slop as
    liveness.synth.sequence."""
    cfg = cfg or SynthConfig()
    rng = np.random.default_rng([seed, 0x4EAD])
    atlas = sample_atlas(np.random.default_rng([seed, 0xA7]))
    t = sample_times(rng, 0.0, duration, fps, rng.uniform(0.0005, 0.003), 0.03)
    width, height = frame_size(cfg, 0.0)  # a fixed-size config gives its own size
    cap = live_capture(rng, atlas, cfg, duration, steps[0], width, height,
                       distance=float(rng.uniform(0.3, 0.6)))  # fmt: skip
    base = cap.path
    assert isinstance(base, DevicePath)
    cap.path = DevicePath(target=base.target, eye=base.eye, roll=base.roll, aim=base.aim)
    slot = duration / len(steps)
    turns = []
    for k, d in enumerate(steps):
        t0 = k * slot + rng.uniform(0.0, 0.2) * slot
        t1 = (k + 1) * slot - rng.uniform(0.0, 0.2) * slot
        amp = np.radians(rng.uniform(10.0, 20.0))
        turns.append((amp * np.cross(FORWARD, HEAD_TOWARD[d]), t0, t1))
    person = cap.objects[0]
    assert isinstance(person, Person)
    w = person.head_rot
    person.head_rot = HeadTurns(w.freq, w.amp, w.phase, tuple(turns))
    return cap.frames(t, rng), 1000 * t


def rates(counts: np.ndarray, n: int) -> tuple[float, float, float]:
    """Genuine pass, different-challenge pass, replay into a random session (uniform draws)."""
    k = counts.shape[0]
    rate = counts / n
    off = float((rate.sum() - np.trace(rate)) / max(k * k - k, 1))
    return float(np.mean(np.diag(rate))), off, float(rate.sum() / (k * k))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--per-challenge", type=int, default=3)
    ap.add_argument("--set", default="pairs")
    ap.add_argument("--kinds", default="orbit,head")
    ap.add_argument("--size", default="96x128", help="render WxH (the page sends up to 240x320)")
    args = ap.parse_args()
    width, height = (int(x) for x in args.size.split("x"))
    cfg = SynthConfig(width=width, height=height)
    ids = challenge_set(args.set)
    k, n = len(ids), args.per_challenge
    det = FaceDetector()
    t0 = time.time()
    judges = ("imu", "video: background only (old)", "video: face only", "video: face + background")
    # counts[(kind, judge)][i, j]: captures made for ids[i] that pass ids[j].
    counts: dict[tuple[str, str], np.ndarray] = {}
    scan_ms: list[float] = []
    for kind in args.kinds.split(","):
        for i, cid in enumerate(ids):
            steps = list(parse_challenge(cid))
            duration = max(2.0, len(steps) * 1.0)
            for rep in range(n):
                seed = 10_000 + 100 * i + rep
                imu = None
                if kind == "orbit":
                    r = render_sequence(steps, seed, duration=duration, cfg=cfg)
                    frames, t_ms, imu = r.frames, r.frame_t_ms, r.imu
                else:
                    frames, t_ms = render_head_turns(steps, seed, duration, cfg=cfg)
                cues = {}
                for m in sorted({len(parse_challenge(c)) for c in ids}):
                    ts = time.perf_counter()
                    cues[m] = video_cues(frames, t_ms, m, det)
                    scan_ms.append(1000 * (time.perf_counter() - ts))
                for j, other in enumerate(ids):
                    face, bg = cues[len(parse_challenge(other))]
                    none = np.full_like(face, np.nan)
                    got = {
                        "imu": judge_imu(other, imu, t_ms, MIN_DEG).followed if imu is not None
                        else None,
                        # The old rule: background turn x VIDEO_TURN_SHARE against 0.4 x min.
                        judges[1]: judge_turns(
                            [(s, np.radians(bg[q] * VIDEO_TURN_SHARE))
                             for q, s in enumerate(parse_challenge(other))],
                            MIN_DEG * VIDEO_TURN_SHARE, "video").followed,
                        judges[2]: judge_cues(other, face, none, MIN_DEG).followed,
                        judges[3]: judge_cues(other, face, bg, MIN_DEG).followed,
                    }  # fmt: skip
                    for name, ok in got.items():
                        if ok is not None:
                            counts.setdefault((kind, name), np.zeros((k, k)))[i, j] += ok
    print(f"set {args.set}: {k} challenges, {n} captures each per kind, {time.time() - t0:.0f} s;"
          f" video cues {np.median(scan_ms):.0f} ms median per capture")  # fmt: skip
    print("| capture | judged from | genuine pass | passes a different challenge "
          "| replay into a random session |")  # fmt: skip
    print("|---|---|---|---|---|")
    for (kind, name), c in counts.items():
        genuine, off, replay = rates(c, n)
        print(f"| {kind} | {name} | {genuine:.3f} | {off:.4f} | {replay:.4f} (1/K = {1 / k:.4f}) |")


if __name__ == "__main__":
    main()
