"""The face check's two errors: genuine captures it refuses, and rooms with nobody in them it
passes; per setting of probes, hits and zoomed-out views, in one run.

    python bench/face_check.py --sets tc79=data/tc79:all test=data/tr3k:test shifted=data/sh81:all \
        --rooms 60 --room-seed 8080

Rooms: the synthetic renderer's live capture (same settings, light, camera path, lens, ISP) with
the person taken out of the scene, so the camera pans over the bare wall; every wall family in
equal numbers, the three lights in turn, a quarter of them with the shifted preset's large
frames; JPEG as a clip would be. Each variant is timed per check (CPU, one thread) and given as
a ratio to the first one. A development tool: choose on a calibration set and one room seed,
report on test, shifted and another room seed.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import time
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from liveness.clip import read_clip
from liveness.face import ZOOM_OUT, FaceDetector, face_check
from liveness.manifest import read_manifest

# name: (probes, min_hits, zoom-out views, stop at the min_hits-th hit); the first is the
# reference for the cost ratio: the check as it was before 2026-11-30, every probe looked at.
VARIANTS = {
    "before (3 probes, 1 hit, whole frame, all probed)": (3, 1, (), False),
    "3 probes, 2 hits, zoomed out": (3, 2, ZOOM_OUT, True),
    "5 probes, 2 hits, zoomed out, all probed": (5, 2, ZOOM_OUT, False),
    "5 probes, 2 hits, zoomed out (shipped: stops at the 2nd hit)": (5, 2, ZOOM_OUT, True),
}


def empty_rooms(per_style: int, seed: int, n_frames: int = 5) -> list[np.ndarray]:
    """(T, H, W, 3) uint8 captures of the synthetic rooms with nobody in front."""
    from liveness.synth.atlas import sample_atlas
    from liveness.synth.capture import live_capture
    from liveness.synth.looks import LIGHTINGS, Look
    from liveness.synth.presets import SHIFTED, TRAINING
    from liveness.synth.scene import WALL_STYLES, Person
    from liveness.synth.settings import ClipSettings, draw, settings_rng
    from liveness.synth.trajectory import CHALLENGES

    out = []
    jobs = [(s, i) for s in WALL_STYLES for i in range(per_style)]
    for k, (style, i) in enumerate(tqdm(jobs, desc="render rooms", unit="room")):
        light = LIGHTINGS[i % len(LIGHTINGS)]
        base = SHIFTED if i % 4 == 3 else TRAINING
        a, b, c = (float(x == light) for x in LIGHTINGS)  # normal, low, side: one of them
        shares = (a, b, c)
        cfg = dataclasses.replace(base, wall_style=style, wall_styles=(style,), light_shares=shares)
        rng, srng = np.random.default_rng([seed, k]), settings_rng(seed, k)
        cs, look = ClipSettings.sample(cfg, srng), Look.sample(cfg, srng)
        duration = rng.uniform(*cfg.duration_s)
        capture = live_capture(rng, sample_atlas(rng), cfg, duration, CHALLENGES[k % 4],
                               cs.width, cs.height)  # fmt: skip
        look.light(capture.light)
        look.camera(capture, draw(rng, cfg.fps))
        look.aim(capture.path)
        capture.objects = [o for o in capture.objects if not isinstance(o, Person)]
        frames = capture.frames(np.linspace(0.0, duration, n_frames), rng)
        q = int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1))
        out.append(np.stack([_jpeg(f, q) for f in frames]))
    return out


def _jpeg(frame: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sets", nargs="*", default=[], metavar="NAME=DIR:SPLIT")
    ap.add_argument("--rooms", type=int, default=20, help="empty rooms per wall family")
    ap.add_argument("--room-seed", type=int, default=8080)
    args = ap.parse_args()
    det = FaceDetector(threads=1)
    sets: dict[str, list[tuple[str, np.ndarray | Path]]] = {}
    for spec in args.sets:
        name, where = spec.split("=", 1)
        root, split = [*where.split(":", 1), "all"][:2]
        rows = read_manifest(Path(root) / "manifest.csv")
        sets[name] = [(r.attack, Path(root) / r.clip) for r in rows if split in ("all", r.split)]
    if args.rooms:
        rooms = empty_rooms(args.rooms, args.room_seed)
        sets[f"empty rooms (seed {args.room_seed})"] = [("nobody", f) for f in rooms]
    print("| variant | set | genuine refused | attacks refused | empty rooms passed | CPU per "
          "check, ratio |\n|---|---|---|---|---|---|")  # fmt: skip
    base_ms: dict[str, float] = {}
    for name, items in sets.items():
        stats: dict[str, list[tuple[str, bool, float]]] = {v: [] for v in VARIANTS}
        for kind, item in tqdm(items, desc=name, unit="clip", leave=False):
            frames = read_clip(item).frames if isinstance(item, Path) else item
            for v, (probes, hits, zoom, stop) in VARIANTS.items():
                t0 = time.process_time()
                chk = face_check(frames, det, probes, min_hits=hits, zoom_out=zoom, stop_early=stop)
                ok = chk.ok
                stats[v].append((kind, ok, time.process_time() - t0))
        for v, got in stats.items():
            ms = 1000 * float(np.mean([t for _, _, t in got]))
            base_ms.setdefault(name, ms)
            live = [ok for k, ok, _ in got if k == "none"]
            att = [ok for k, ok, _ in got if k not in ("none", "nobody")]
            empty = [ok for k, ok, _ in got if k == "nobody"]
            cell = lambda xs, bad: f"{sum(x == bad for x in xs)} of {len(xs)}" if xs else "–"  # noqa: E731
            print(
                f"| {v} | {name} | {cell(live, False)} | {cell(att, False)} | "
                f"{cell(empty, True)} | {ms:.1f} ms, {ms / base_ms[name]:.2f}× |",
                flush=True,
            )


if __name__ == "__main__":
    main()
