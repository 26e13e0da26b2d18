"""Challenge judging accuracy and the replay-match probability, on rendered synthetic captures.

Usage: python bench/bench_challenge.py [--per-challenge 3] [--set pairs]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from liveness.server.challenge import challenge_set, judge_imu, judge_video
from liveness.synth.sequence import render_sequence

MIN_DEG = 5.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--per-challenge", type=int, default=3)
    ap.add_argument("--set", default="pairs")
    args = ap.parse_args()
    ids = challenge_set(args.set)
    k = len(ids)
    t0 = time.time()
    # pass_rate[src][judge][i, j]: share of captures made for ids[i] that pass ids[j].
    counts = {s: np.zeros((k, k)) for s in ("imu", "video")}
    for i, cid in enumerate(ids):
        for rep in range(args.per_challenge):
            duration = max(2.0, len(cid.split("-")) * 1.0)
            r = render_sequence(cid.split("-"), 10_000 + 100 * i + rep, duration=duration)
            assert r.imu is not None
            for j, other in enumerate(ids):
                counts["imu"][i, j] += judge_imu(other, r.imu, r.frame_t_ms, MIN_DEG).followed
                counts["video"][i, j] += judge_video(
                    other, r.frames, r.frame_t_ms, MIN_DEG
                ).followed
    n = args.per_challenge
    print(f"set {args.set}: {k} challenges, {n} captures each, {time.time() - t0:.0f} s")
    print("| judged from | genuine pass | wrong-challenge pass | replay match P (uniform draw) |")
    print("|---|---|---|---|")
    for src, c in counts.items():
        rate = c / n
        genuine = float(np.mean(np.diag(rate)))
        off = float((rate.sum() - np.trace(rate)) / (k * k - k))
        # A capture made for a random session replayed into an independent random session.
        replay = float(rate.sum() / (k * k))
        print(f"| {src} | {genuine:.3f} | {off:.4f} | {replay:.4f} (1/K = {1 / k:.4f}) |")


if __name__ == "__main__":
    main()
