"""One capture's work on one thread against two: the service's decode and the decision path.

    python bench/bench_overlap.py [--clips 6] [--repeats 30] [--model FILE]

The service decodes an upload's frames on two threads from one queue (server.payload) and runs
the motion check on a side thread beside the face check and the network (Predictor.overlap).
Both are timed here against the same work on one thread, interleaved in one run, on the 240 ×
320 captures `bench/bench_server.py` sends (JPEG 85, ~31 frames, a one-step challenge). Prints
a table of p50 / p90 wall ms and the ratio; the verdicts of both paths must be equal.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import time

import numpy as np
from PIL import Image

from liveness.clip import Clip
from liveness.config import SynthConfig
from liveness.frames import decode_rgb
from liveness.predict import load_predictor
from liveness.server.payload import decode_into
from liveness.synth.sequence import render_sequence


def jpeg(frame: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clips", type=int, default=6)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--model", default=None)
    args = ap.parse_args()
    cfg = SynthConfig(width=240, height=320)
    caps = []
    for s in range(args.clips):
        r = render_sequence(["left"], 500 + s, cfg=cfg)
        enc = [(jpeg(f), "JPEG", "RGB") for f in r.frames]
        caps.append((enc, r.frame_t_ms, r.imu))
    two = load_predictor(args.model, threads=1)
    one = dataclasses.replace(two, overlap=False)
    times: dict[str, list[float]] = {k: [] for k in ("decode 1", "decode 2", "path 1", "path 2")}
    for i in range(args.repeats * len(caps)):
        enc, t, imu = caps[i % len(caps)]
        n, (h, w) = len(enc), Image.open(io.BytesIO(enc[0][0])).size[::-1]
        frames = np.zeros((n, h, w, 3), np.uint8)
        t0 = time.perf_counter()
        for k, (data, fmt, mode) in enumerate(enc):  # one thread: what decode_into did before
            frames[k] = decode_rgb(data, fmt, mode)
        t1 = time.perf_counter()
        decode_into(frames, enc, range(n))  # two threads, the service's decoder
        t2 = time.perf_counter()
        clip = Clip(frames, t, imu)
        order = (one, two) if i % 2 else (two, one)  # alternate which path runs first
        got = {}
        for p in order:
            a = time.perf_counter()
            got[p.overlap] = p.assess(clip)[0]
            times["path 2" if p.overlap else "path 1"].append(time.perf_counter() - a)
        assert got[True] == got[False], "the two paths disagree"
        times["decode 1"].append(t1 - t0)
        times["decode 2"].append(t2 - t1)
    print(f"{len(caps)} captures × {args.repeats}, {n} frames of {w}×{h}, model threads 1")
    print("| step | one thread p50 / p90 ms | two threads p50 / p90 ms | ratio (p50) |")
    print("|---|---|---|---|")
    for name, ka, kb in (("decode every frame", "decode 1", "decode 2"),
                         ("decision path (face, net, motion)", "path 1", "path 2")):  # fmt: skip
        pa = [1000 * np.percentile(times[ka], q) for q in (50, 90)]
        pb = [1000 * np.percentile(times[kb], q) for q in (50, 90)]
        print(f"| {name} | {pa[0]:.1f} / {pa[1]:.1f} | {pb[0]:.1f} / {pb[1]:.1f} "
              f"| {pb[0] / pa[0]:.2f}× |")  # fmt: skip


if __name__ == "__main__":
    main()
