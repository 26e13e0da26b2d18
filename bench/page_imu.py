"""The motion check and its sensor-based gates with the IMU as a browser page records it.

    python bench/page_imu.py data/tc79 --split all [--draws 4] [--model FILE]

A clip's imu.csv holds every reading at its own stamp. The page (static/motion.js) records
devicemotion events instead: Chromium fires them at its own ~60 Hz ticks, each carrying the
latest reading of each sensor (sample and hold: a reading is up to one sensor period stale,
some are repeated, at a sensor rate above 60 Hz some are skipped), stamped with the event's
time; the accelerometer and the gyroscope are separate sensors whose readings arrive at their
own phases. `page_sampled` resamples a clip's IMU that way, with a random phase per draw;
`thinned` keeps the readings at their own stamps, no faster than the page's rate (what an API
that stamps each reading, as the Generic Sensor API does, would give at Chromium's 60 Hz cap):
the rate's share of the difference without the hold's.

Every genuine capture and injection with sensors is tracked once (the model's MotionConfig,
each clip's field of view as `liveness predict` reads it) and compared with its IMU as recorded
and with --draws page samplings of it. Per row: genuine captures the motion check refuses,
genuine captures it lets through that the moving-scene gate would refuse (Agreement.scene_misfit
above FusionConfig.scene_gate), those whose room reads near (Agreement.room_per_m at or above
near_gate_per_m: half of the near-and-flat gate; the other half, the scene's flatness, is
video only), the misfit's median and 95th percentile and its change from the recorded IMU's,
the injections the check lets through, and the moving-scene gate's level as `liveness calibrate
--scene-gate SHARE` would set it on that row's IMU (liveness.gate_levels.scene_level; the bundled
model's was set at 0.025 on tc79's own IMU). A development tool (docs/MOTION.md, "The IMU as a
page records it"); the question it answers is how much of a gate's calibration, made on
clips' own IMU, carries over to the page.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from liveness.clip import read_clip
from liveness.decision import clip_hfov
from liveness.gate_levels import scene_level
from liveness.manifest import read_manifest
from liveness.motion import Agreement, compare, video_motion
from liveness.predict import load_predictor


def page_sampled(
    imu: np.ndarray, rng: np.random.Generator, rate_hz: float = 60.0, jitter_ms: float = 0.5
) -> np.ndarray:
    """(M, 7) rows [t_ms, a(3), g(3)] as a page's devicemotion events would carry imu (N, 7).

    Events every 1000 / rate_hz ms from a random phase, each stamp off by N(0, jitter_ms); a
    reading reaches the events from a small delay after its stamp (0–3 ms for the accelerometer,
    up to one sensor period more for the gyroscope: separate sensors, separate phases); each
    event carries the latest reading of each that has arrived."""
    t = imu[:, 0]
    step = 1000.0 / rate_hz
    te = np.arange(t[0] + rng.uniform(0.0, step), t[-1], step)
    te = np.sort(te + rng.normal(0.0, jitter_ms, len(te)))
    delay_a = rng.uniform(0.0, 3.0)
    delay_g = delay_a + rng.uniform(0.0, float(np.median(np.diff(t))))
    ia = np.searchsorted(t + delay_a, te, side="right") - 1
    ig = np.searchsorted(t + delay_g, te, side="right") - 1
    ok = (ia >= 0) & (ig >= 0)
    return np.column_stack([te[ok], imu[ia[ok], 1:4], imu[ig[ok], 4:7]])


def thinned(imu: np.ndarray, rate_hz: float = 60.0) -> np.ndarray:
    """imu's rows at their own stamps, each at least 1000 / rate_hz ms after the last kept."""
    keep, last = [], -np.inf
    for i, t in enumerate(imu[:, 0]):
        if t - last >= 1000.0 / rate_hz - 1e-6:
            keep.append(i)
            last = t
    return imu[keep]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("--split", default="val")
    ap.add_argument("--model", default=None, help="default: the bundled model")
    ap.add_argument("--draws", type=int, default=4, help="page samplings per clip")
    ap.add_argument("--rate", type=float, default=60.0, help="the page's event rate, Hz")
    ap.add_argument("--jitter", type=float, default=0.5, help="event stamp jitter, ms (SD)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--thinned", action="store_true", help="add a row: readings at their own "
                    "stamps, thinned to --rate")  # fmt: skip
    ap.add_argument("--scene-share", type=float, default=0.025,
                    help="the share the gate's level column is calibrated at")  # fmt: skip
    args = ap.parse_args()
    cv2.setNumThreads(1)
    config = load_predictor(args.model).config
    cfg, fusion = config.motion, config.fusion
    root = Path(args.data)
    rows = [
        r
        for r in read_manifest(root / "manifest.csv")
        if args.split in ("all", r.split) and r.has_imu and r.attack in ("none", "injection")
    ]
    rng = np.random.default_rng(args.seed)
    names = ["as recorded"] + (["thinned"] if args.thinned else [])
    names += [f"page draw {k + 1}" for k in range(args.draws)]
    got: dict[str, list[Agreement]] = {n: [] for n in names}
    live = np.array([r.attack == "none" for r in rows])
    for r in tqdm(rows, desc="clips", unit="clip"):
        c = read_clip(root / r.clip)
        assert c.imu is not None
        vm = video_motion(c.frames, c.frame_t_ms, cfg, clip_hfov(c))
        imus = [c.imu] + ([thinned(c.imu, args.rate)] if args.thinned else [])
        imus += [page_sampled(c.imu, rng, args.rate, args.jitter) for _ in range(args.draws)]
        for name, imu in zip(names, imus, strict=True):
            got[name].append(compare(vm, imu, cfg))
    print(
        f"{args.data} {args.split}: {live.sum()} genuine captures, {(~live).sum()} injections "
        f"with IMU; page events at {args.rate:g} Hz, stamp jitter {args.jitter:g} ms; gates: "
        f"scene misfit > {fusion.scene_gate:.3f}, room ≥ {fusion.near_gate_per_m:g} /m\n"
    )
    print(
        "| IMU | genuine refused by the motion check | genuine the moving-scene gate refuses "
        "| genuine whose room reads near | misfit median / p95 | Δ misfit median / p90 "
        f"| injections agreeing | gate level at {args.scene_share:g} |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    base = np.array([a.scene_misfit for a in got[names[0]]])
    for name in names:
        st = np.array([a.status for a in got[name]])
        mis = np.array([a.scene_misfit for a in got[name]])
        room = np.array([a.room_per_m for a in got[name]])
        level = scene_level({"motion": got[name], "is_live": live, "has_imu": [True] * len(live)},
                            args.scene_share)  # fmt: skip
        agree = st == "agrees"
        g = live & agree
        both = live & np.isfinite(mis) & np.isfinite(base)
        d = np.abs(mis[both] - base[both])
        print(
            f"| {name} | {np.sum(live & ~agree)} | {np.sum(g & (mis > fusion.scene_gate))} | "
            f"{np.sum(g & (room >= fusion.near_gate_per_m))} | "
            f"{np.nanmedian(mis[live]):.3f} / {np.nanpercentile(mis[live], 95):.3f} | "
            f"{np.median(d):.3f} / {np.percentile(d, 90):.3f} | {np.sum(~live & agree)} | "
            f"{level:.3f} |"
        )


if __name__ == "__main__":
    main()
