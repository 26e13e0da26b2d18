"""Where a capture's streams line up: the motion check's agreement at every clock offset, for
the capture's own IMU and for the same IMU replayed late, on r and on Fisher's z.

    python bench/offset_curves.py data/tc79/clips/000291 --late 150 \
        --out docs/img/motion_offset_curves.png

The agreement at offset τ is the check's own score there (the mean of the slow and the fast
part's correlation), taken by comparing with the IMU moved by −τ and a genuine range of 0 ms.
The shaded band is the genuine range (MotionConfig.offset_ms). A development picture for
docs/MOTION.md, "Where the streams line up".
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm import tqdm

from liveness.clip import read_clip
from liveness.config import MotionConfig
from liveness.motion import VideoMotion, agreement, compare
from liveness.motion.series import fisher_z


def curve(vm: VideoMotion, imu: np.ndarray, taus: np.ndarray, cfg: MotionConfig) -> np.ndarray:
    """(len(taus),) the agreement (mean of slow and fast r) at each clock offset."""
    at_zero = dataclasses.replace(cfg, offset_ms=0.0, stabilised_ms=0.0, outlier_share=0.0)
    out = []
    for tau in tqdm(taus, desc="offsets", leave=False):
        moved = imu.copy()
        moved[:, 0] -= tau  # the sensor stamps tau later look like offset tau
        a = compare(vm, moved, at_zero)
        out.append(cfg.detail_share * a.r_detail + (1 - cfg.detail_share) * a.r)
    return np.array(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("clip")
    ap.add_argument("--late", type=float, default=150.0, help="ms the replayed IMU runs late")
    ap.add_argument("--out", default="offset_curves.png")
    args = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clip = read_clip(args.clip)
    if clip.imu is None:
        raise SystemExit(f"{args.clip}: no imu.csv")
    cfg = MotionConfig()
    hfov = clip.meta.get("hfov_deg") if isinstance(clip.meta, dict) else None
    own, vm = agreement(clip.frames, clip.frame_t_ms, clip.imu, cfg, hfov)
    late_imu = clip.imu.copy()
    late_imu[:, 0] += args.late
    late = compare(vm, late_imu, cfg)
    taus = np.arange(-300.0, 400.0 + 1e-9, 5.0)
    curves = {
        "own IMU": curve(vm, clip.imu, taus, cfg),
        f"its IMU replayed {args.late:g} ms late": curve(vm, late_imu, taus, cfg),
    }
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    scales: tuple[tuple[str, Callable[[np.ndarray], np.ndarray]], ...] = (
        ("agreement r", np.asarray),
        ("Fisher z = atanh r", fisher_z),
    )
    for ax, (name, fn) in zip(axes, scales, strict=True):
        ax.axvspan(-cfg.offset_ms, cfg.offset_ms, color="0.9", label="genuine range")
        for (label, c), colour in zip(curves.items(), ("tab:blue", "tab:red"), strict=True):
            ax.plot(taus, fn(c), color=colour, label=label)
        ax.set_xlabel("clock offset τ, ms (sensor stamps later than the frames)")
        ax.set_title(name)
    axes[0].legend(fontsize=8, loc="lower left")
    found = ", ".join(late.findings) or "no finding"
    fig.suptitle(f"{Path(args.clip).name}: own IMU {own.status}; replayed {args.late:g} ms "
                 f"late {late.status} ({found})", fontsize=9)  # fmt: skip
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"own: {own.words()}\nlate: {late.words()}\nwrote {args.out}")


if __name__ == "__main__":
    main()
