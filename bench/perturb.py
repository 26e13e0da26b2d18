"""What another camera's pipeline does to the verdict: the whole decision path on held-out clips
whose frames were changed the way phones and webcams change theirs and the generator does not.

    python bench/perturb.py [--model src/liveness/models/default.pt] [--data data/tr3k:test]
        [--clips 0] [--perturb none,jpeg25,sharpen,...] [--json runs/perturb.json]

Each perturbation is applied to every frame of every clip (uint8 RGB in, uint8 RGB out; the
IMU, stamps and meta.json untouched) and the capture goes through `Predictor.assess`: face
check, network, motion agreement and policy, at the model's own threshold. Prints, per
perturbation: genuine refused (BPCER), each species' APCER, AUC of the final score, the median
network score of the genuine captures, and what refused the genuine ones (the face check, the
motion policy or gate, or the score below the threshold). The generator's own range is the
first row; a row that moves far from it names a camera the detector would fail on. --clips N:
the first N clips of the set in manifest order (0 = all).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from liveness import metrics
from liveness.augment import recompress
from liveness.clip import Clip, read_clip
from liveness.manifest import read_manifest
from liveness.predict import load_predictor
from liveness.preprocess import LUMA

Frames = np.ndarray  # (T, H, W, 3) uint8 RGB


def _per_frame(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[Frames], Frames]:
    return lambda frames: np.stack([fn(f) for f in frames])


def _jpeg(quality: int) -> Callable[[Frames], Frames]:
    """Re-encoded at a quality below the generator's range (50–95): a thrifty virtual camera."""
    return lambda frames: recompress(frames, quality)


def _sharpen(f: np.ndarray) -> np.ndarray:
    """Unsharp mask, amount 1.0 at σ 1.5 px: the edge halos of a phone's default processing."""
    blur = cv2.GaussianBlur(f, (0, 0), 1.5).astype(np.float32)
    return np.clip(2.0 * f.astype(np.float32) - blur, 0, 255).astype(np.uint8)


def _smooth(f: np.ndarray) -> np.ndarray:
    """Edge-preserving smoothing (bilateral, σ 30 levels / 5 px): noise reduction, beauty mode."""
    return cv2.bilateralFilter(f, 7, 30, 5)


def _soft(f: np.ndarray) -> np.ndarray:
    """Half the resolution, scaled back up: a low-resolution sensor sent as a larger stream."""
    h, w = f.shape[:2]
    small = cv2.resize(f, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _gamma(g: float) -> Callable[[Frames], Frames]:
    """Another tone curve (the training jitter covers exponents 0.86–1.16)."""
    lut = np.clip(255.0 * (np.arange(256) / 255.0) ** g + 0.5, 0, 255).astype(np.uint8)
    return lambda frames: lut[frames]


def _tint(r: float, b: float) -> Callable[[Frames], Frames]:
    """A white balance off by these red and blue gains: a camera that misjudged the light."""
    gains = np.array([r, 1.0, b], np.float32)
    return lambda frames: np.clip(frames.astype(np.float32) * gains, 0, 255).astype(np.uint8)


def _noise(frames: Frames) -> Frames:
    """Sensor noise σ 6 levels per pixel and frame (seeded: the same bytes every run)."""
    rng = np.random.default_rng(0)
    n = rng.normal(0.0, 6.0, frames.shape).astype(np.float32)
    return np.clip(frames.astype(np.float32) + n, 0, 255).astype(np.uint8)


def _grey(frames: Frames) -> Frames:
    """Colour halved toward grey: a washed-out, desaturated stream."""
    f = frames.astype(np.float32)
    y = f @ LUMA
    return np.clip(0.5 * f + 0.5 * y[..., None], 0, 255).astype(np.uint8)


def _chroma420(f: np.ndarray) -> np.ndarray:
    """Colour at half resolution (YCbCr 4:2:0, as a camera stream carries it), then JPEG 90
    (the capture page's quality): the path a browser's camera frames take to the service."""
    ycc = cv2.cvtColor(f, cv2.COLOR_RGB2YCrCb)
    h, w = f.shape[:2]
    for c in (1, 2):
        half = cv2.resize(ycc[..., c], ((w + 1) // 2, (h + 1) // 2), interpolation=cv2.INTER_AREA)
        ycc[..., c] = cv2.resize(half, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)


def _range(frames: Frames) -> Frames:
    """Full-range video read as limited range (levels 16–235 stretched to 0–255): a common
    video-pipeline mismatch, and what Chromium's fake camera does to the browser tests' .y4m."""
    v = (frames.astype(np.float32) - 16.0) * (255.0 / 219.0)
    return np.clip(np.rint(v), 0, 255).astype(np.uint8)


PERTURBATIONS: dict[str, Callable[[Frames], Frames]] = {
    "none": lambda frames: frames,
    "jpeg25": _jpeg(25),
    "sharpen": _per_frame(_sharpen),
    "smooth": _per_frame(_smooth),
    "soft": _per_frame(_soft),
    "gamma0.6": _gamma(0.6),
    "gamma1.6": _gamma(1.6),
    "tint": _tint(1.2, 0.8),  # warm: red up, blue down
    "tint_cool": _tint(0.8, 1.2),
    "noise": _noise,
    "desaturate": _grey,
    "range": _range,
    "chroma420": lambda frames: recompress(_per_frame(_chroma420)(frames), 90),
}


REFUSERS = ("face", "motion", "score")


def _why(d: dict) -> str:
    """Which stage refused a capture: the face check, the motion policy or gate, or the score."""
    code = d.get("rejected")
    if code == "no_face":
        return "face"
    return "motion" if code else "score"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", default="src/liveness/models/default.pt")
    ap.add_argument("--data", default="data/tr3k:test", help="DIR:SPLIT (train|val|test|all)")
    ap.add_argument("--clips", type=int, default=0)
    ap.add_argument("--perturb", default=",".join(PERTURBATIONS))
    ap.add_argument("--json", default=None, help="also write the table as JSON here")
    args = ap.parse_args()
    names = [n for n in args.perturb.split(",") if n]
    unknown = set(names) - set(PERTURBATIONS)
    if unknown:
        ap.error(f"unknown perturbation(s) {sorted(unknown)}: {', '.join(PERTURBATIONS)}")
    root, _, split = args.data.partition(":")
    rows = [r for r in read_manifest(Path(root)) if split in ("all", r.split)]
    rows = rows[: args.clips] if args.clips else rows
    p = load_predictor(args.model)
    # per clip: live, score, network score, what refused it ("" when accepted)
    out: dict[str, list[tuple[bool, float, float, str]]] = {n: [] for n in names}
    for r in tqdm(rows, desc="clips", unit="clip"):
        clip = read_clip(Path(root) / r.clip)
        for n in names:
            changed = Clip(PERTURBATIONS[n](clip.frames), clip.frame_t_ms, clip.imu, clip.meta)
            d, _ = p.assess(changed)
            model_score = float(d.get("model_score", float("nan")))
            live = bool(d["live"])
            out[n].append((live, float(d.get("score", 0.0)), model_score, "" if live else _why(d)))
    is_live = np.array([r.is_live for r in rows])
    attack = np.array([r.attack for r in rows])
    species = sorted(set(attack[~is_live]))
    table = {}
    print(f"{args.model} at threshold {p.threshold:.4f}, {args.data}: {is_live.sum()} genuine, "
          f"{(~is_live).sum()} attacks")  # fmt: skip
    print("| frames | BPCER | " + " | ".join(f"APCER {s}" for s in species)
          + " | AUC | genuine net median | genuine refused by face / motion / score |")  # fmt: skip
    print("|---|---|" + "---|" * len(species) + "---|---|---|")
    for n in names:
        acc = np.array([x[0] for x in out[n]])
        score = np.array([x[1] for x in out[n]])
        net = np.array([x[2] for x in out[n]])
        why = np.array([x[3] for x in out[n]])
        row = {
            "bpcer": float(np.mean(~acc[is_live])),
            **{f"apcer_{s}": float(np.mean(acc[attack == s])) for s in species},
            "auc": metrics.auc(score, is_live),
            "genuine_net_median": float(np.nanmedian(net[is_live])),
            **{f"bpcer_{k}": float(np.mean(why[is_live] == k)) for k in REFUSERS},
        }
        table[n] = row
        apcers = " | ".join(f"{100 * row[f'apcer_{s}']:.1f} %" for s in species)
        refusers = " / ".join(f"{100 * row[f'bpcer_{k}']:.1f}" for k in REFUSERS)
        print(f"| {n} | {100 * row['bpcer']:.1f} % | {apcers} | {row['auc']:.3f} | "
              f"{row['genuine_net_median']:.3f} | {refusers} % |")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=2) + "\n")


if __name__ == "__main__":
    main()
