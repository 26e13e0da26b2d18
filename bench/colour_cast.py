"""The colour cast each class has in a dataset: does the generator draw attacks warmer or cooler
than genuine captures? A network learns such a cast as a cue (docs/MODEL.md: warm frames let
prints through, cool ones refuse genuine users), so a gap here is a bias of the data.

    python bench/colour_cast.py [--data data/tr3k:test] [--frames 6]

Per clip: the mean red and blue of the central square (the model's crop region) over up to
--frames frames spread over the capture, and log(R / B) of those means (> 0 warm, < 0 cool; a
white balance with red × 1.2 and blue × 0.8 adds log 1.5 = +0.405). Prints, per species and
variant: n, mean, median and the 10th / 90th percentiles of log(R / B), and the mean luma.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from tqdm import tqdm

from liveness.clip import read_clip
from liveness.manifest import read_manifest
from liveness.preprocess import LUMA


def central_means(frames: np.ndarray, n: int) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (3,) mean RGB of the central square over n frames spread over T."""
    pick = np.linspace(0, len(frames) - 1, min(n, len(frames))).round().astype(int)
    h, w = frames.shape[1:3]
    s = min(h, w)
    y0, x0 = (h - s) // 2, (w - s) // 2
    sq = frames[pick, y0 : y0 + s, x0 : x0 + s].astype(np.float64)
    return sq.reshape(-1, 3).mean(axis=0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", default="data/tr3k:test", help="DIR:SPLIT (train|val|test|all)")
    ap.add_argument("--frames", type=int, default=6)
    args = ap.parse_args()
    root, _, split = args.data.partition(":")
    rows = [r for r in read_manifest(Path(root)) if split in ("all", r.split)]
    cast: dict[str, list[float]] = {}
    luma: dict[str, list[float]] = {}
    for r in tqdm(rows, desc="clips", unit="clip"):
        m = central_means(read_clip(Path(root) / r.clip).frames, args.frames)
        for key in (r.attack, f"{r.attack}/{r.variant}"):
            cast.setdefault(key, []).append(float(np.log(m[0] / max(m[2], 1e-6))))
            luma.setdefault(key, []).append(float(m @ LUMA))
    print(f"{args.data}: log(R / B) of the central square (> 0 warm, < 0 cool)")
    print("| class | n | mean | median | p10 | p90 | mean luma |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for key in sorted(cast, key=lambda k: (k.split("/")[0], "/" in k, k)):
        v = np.array(cast[key])
        p10, p90 = np.percentile(v, [10, 90])
        print(f"| {key} | {len(v)} | {v.mean():+.3f} | {np.median(v):+.3f} | {p10:+.3f} | "
              f"{p90:+.3f} | {np.mean(luma[key]):.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()
