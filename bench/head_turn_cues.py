"""Why webcam head turns fail the challenge judge: the face cue read several ways, offline.

    python bench/head_turn_cues.py [--per-challenge 4] [--size 240x320]

Renders bench_challenge.py's head captures (a fixed camera, the head turning 10-20° per step),
runs BlazeFace once on every frame and keeps its six keypoints, then judges each capture's
own challenge and every other one from the face cue alone (judge.judge_cues, no background)
with the edge frames and the pose proxy read in several ways: the judge's own (three frames per
step edge, their mean, the nose against the ears, lever 1.6) and variants. Prints, per
variant, the genuine pass rate and how often another challenge passes, then which steps the
judge's own reading fails and why (SERVICE.md, "Challenges").
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from liveness.challenge import challenge_set, parse_challenge
from liveness.config import SynthConfig
from liveness.face import FaceDetector
from liveness.judge import FACE_MIN_SHARE, judge_cues

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_challenge import MIN_DEG, render_head_turns

Ref = Callable[[np.ndarray], np.ndarray]
REFS: dict[str, Ref] = {
    "ears": lambda k: (k[4] + k[5]) / 2,
    "eyes": lambda k: (k[0] + k[1]) / 2,
    "eyes+mouth": lambda k: (k[0] + k[1] + k[3]) / 3,
}
VARIANTS: dict[str, dict[str, Any]] = {
    "judge: 3 frames, mean, nose-ears, lever 1.6": {"ref": "ears", "lever": 1.6},
    "3 frames, median": {"ref": "ears", "lever": 1.6, "agg": np.median},
    "5 frames, mean": {"ref": "ears", "lever": 1.6, "per_edge": 5},
    "5 frames, median": {"ref": "ears", "lever": 1.6, "per_edge": 5, "agg": np.median},
    "nose-eyes, lever 0.5": {"ref": "eyes", "lever": 0.5},
    "nose-eyes, lever 0.4": {"ref": "eyes", "lever": 0.4},
    "nose-eyes, lever 0.5, 5 frames, median": {
        "ref": "eyes", "lever": 0.5, "per_edge": 5, "agg": np.median},
    "nose-(eyes+mouth), lever 0.35": {"ref": "eyes+mouth", "lever": 0.35},
}  # fmt: skip


def proxies(k: np.ndarray, ref: Ref) -> np.ndarray:
    """(sideways, down): the nose's offset from `ref` in inter-eye distances (face.pose_proxies
    with another reference point)."""
    e = k[1] - k[0]
    iod = float(np.hypot(*e))
    if not np.isfinite(iod) or iod < 1e-6:
        return np.array([np.nan, np.nan])
    e = e / iod if e[0] >= 0 else -e / iod
    d = (k[2] - ref(k)) / iod
    return np.array([d @ e, d @ np.array([-e[1], e[0]])])


def face_turns(
    t: np.ndarray,
    kps: np.ndarray,
    n_steps: int,
    ref: str,
    lever: float,
    per_edge: int = 3,
    agg: Callable[..., np.ndarray] = np.mean,
) -> np.ndarray:
    """(n_steps, 2) turns (rx, ry) in degrees, as judge.face_rotation computes them."""
    edges = np.linspace(t[0], t[-1], n_steps + 1)
    poses = np.full((n_steps + 1, 2), np.nan)
    for j, edge in enumerate(edges):
        near = np.argsort(np.abs(t - edge), kind="stable")[:per_edge]
        got = [p for p in (proxies(kps[i], REFS[ref]) for i in near) if np.all(np.isfinite(p))]
        if got:
            poses[j] = agg(np.array(got), axis=0)
    turn = np.degrees(np.arcsin(np.clip(np.diff(poses, axis=0) / lever, -1.0, 1.0)))
    return np.column_stack([turn[:, 1], -turn[:, 0]])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--per-challenge", type=int, default=4)
    ap.add_argument("--size", default="240x320")
    args = ap.parse_args()
    width, height = (int(x) for x in args.size.split("x"))
    cfg = SynthConfig(width=width, height=height)
    det = FaceDetector()
    ids = challenge_set("pairs")
    caps = []
    for i, cid in tqdm(list(enumerate(ids)), desc="render + keypoints", unit="challenge"):
        steps = list(parse_challenge(cid))
        for rep in range(args.per_challenge):
            frames, t = render_head_turns(steps, 10_000 + 100 * i + rep, 2.0, cfg=cfg)
            found = [det.scan(f, 0.5)[0] for f in frames]
            keypoints = np.array([f[0].keypoints if f else np.full((6, 2), np.nan) for f in found])
            caps.append((cid, t, keypoints))
    print(f"{len(caps)} head captures at {args.size}, face cue only\n")
    print("| reading | genuine pass | passes another challenge |\n|---|---|---|")
    for name, kw in VARIANTS.items():
        own = other = n_other = 0
        for cid, t, kps in caps:
            turns = {m: face_turns(t, kps, m, **kw) for m in {len(parse_challenge(c)) for c in ids}}
            for c in ids:
                face = turns[len(parse_challenge(c))]
                ok = judge_cues(c, face, np.full_like(face, np.nan), MIN_DEG).followed
                own += ok and c == cid
                other += ok and c != cid
                n_other += c != cid
        print(f"| {name} | {own / len(caps):.3f} | {other / n_other:.4f} |")
    why: Counter[str] = Counter()
    for cid, t, kps in caps:
        face = face_turns(t, kps, len(parse_challenge(cid)), **VARIANTS[next(iter(VARIANTS))])
        for k, step in enumerate(judge_cues(cid, face, np.full_like(face, np.nan), MIN_DEG).steps):
            if step["ok"]:
                continue
            cue = step.get("face")
            weak = cue is None or cue["along_deg"] < MIN_DEG * FACE_MIN_SHARE
            order = "first" if k == 0 else "after a " + parse_challenge(cid)[k - 1]
            kind = "too little or wrong way" if weak else "more sideways than along"
            why[f"{step['direction']} ({order}): {kind}"] += 1
    print("\nfailing steps, the judge's own reading:")
    for reason, n in why.most_common():
        print(f"- {reason}: {n}")


if __name__ == "__main__":
    main()
