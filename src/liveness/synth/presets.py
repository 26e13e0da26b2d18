"""Named generator configurations: `training` (wide, the default) and `shifted` (outside it)."""

from __future__ import annotations

import dataclasses
from typing import Any

from liveness.config import SynthConfig
from liveness.synth.settings import intervals

# What `liveness synth` renders by default: per-clip settings drawn from wide ranges.
TRAINING = SynthConfig(
    preset="training",
    width=None,
    height=None,
    sizes=((96, 128), (120, 160), (144, 192), (180, 240), (240, 320)),
    # Weighted toward the small sizes: rendering time grows with the pixel count (240×320 has
    # 6.25× the pixels of 96×128), and the model sees a 96-px square whatever the size.
    size_weights=(0.4, 0.25, 0.15, 0.12, 0.08),
    fps=(10.0, 25.0),
    imu_hz=(50.0, 150.0),
    imu_offset_ms=(0.0, 20.0),  # docs/CLOCK_OFFSET.md: 0 to ~17 ms in Chromium
    injection_shares=(0.3, 0.25, 0.2, 0.25),  # unrelated, same-direction, rest, shifted
    hfov_deg=(55.0, 72.0),
    jpeg_quality=(50, 95),
    wall_mirror=True,
    # Rooms of several texture families, regular patterns among them (wallpaper): a network
    # shown only plain painted rooms read a tiled wall as an attack's texture (docs/MODEL.md).
    wall_styles=("painted", "planks", "wallpaper"),
    light_shares=(0.7, 0.15, 0.15),  # normal, low (dim room), side (window light)
    off_centre_share=0.1,
    head_turn_share=0.2,
    iso_noise=True,
)

# A stand-in for a camera nobody generated: every axis below lies outside TRAINING's ranges
# (tested); duration, clock offset, JPEG quality, attacks and subjects' looks are shared.
SHIFTED = dataclasses.replace(
    TRAINING,
    preset="shifted",
    sizes=((360, 480), (480, 640)),
    size_weights=(0.5, 0.5),
    fps=(26.0, 30.0),
    imu_hz=(160.0, 200.0),
    hfov_deg=(50.0, 54.0, 74.0, 80.0),  # narrower and wider lenses than training
    wall_style="tiled",
    wall_styles=(),  # tiles only: a family no training wall has
    light_warmth=(-0.35, -0.2, 0.2, 0.35),  # strongly coloured light: sodium-warm or LED-cool
)

PRESETS = {"training": TRAINING, "shifted": SHIFTED}
# The generator's first configuration (SynthConfig()): `--preset base` remakes datasets made
# before the presets existed (data/synth4k, data/cal77: the same frames and sensor files).
BASE = SynthConfig()

# The axes on which SHIFTED must not share a single value with TRAINING.
SHIFTED_AXES = ("pixels", "fps", "imu_hz", "hfov_deg", "light_warmth", "wall_style")


def preset(name: str) -> SynthConfig:
    """The named preset: `training`, `shifted` or `base`."""
    named = {**PRESETS, "base": BASE}
    try:
        return named[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r} ({' | '.join(named)})") from None


def ranges(cfg: SynthConfig) -> dict[str, Any]:
    """The per-clip settings a configuration draws from, as JSON (for synth.json and docs)."""
    if cfg.width is not None and cfg.height is not None:
        sizes, weights = [(cfg.width, cfg.height)], [1.0]
    else:
        sizes, weights = list(cfg.sizes), list(cfg.size_weights)
    pixels = [w * h for w, h in sizes]
    return {
        "sizes": [[w, h] for w, h in sizes],
        "size_weights": weights,
        "pixels": [[min(pixels), max(pixels)]],
        "fps": [list(p) for p in intervals(cfg.fps)],
        "imu_hz": [list(p) for p in intervals(cfg.imu_hz)],
        "hfov_deg": [list(p) for p in intervals(cfg.hfov_deg)],
        "light_warmth": [list(p) for p in intervals(cfg.light_warmth)],
        "wall_style": list(cfg.wall_styles or [cfg.wall_style]),
        "imu_offset_ms": list(cfg.imu_offset_ms),
        "jpeg_quality": list(cfg.jpeg_quality),
        "duration_s": list(cfg.duration_s),
    }


def overlapping_axes(a: SynthConfig, b: SynthConfig) -> list[str]:
    """The SHIFTED_AXES on which some clip of `a` could have a value some clip of `b` has
    (closed intervals: touching ends count as overlap)."""
    ra, rb = ranges(a), ranges(b)
    out = []
    for axis in SHIFTED_AXES:
        if axis == "wall_style":
            shared = bool(set(ra[axis]) & set(rb[axis]))
        else:
            shared = any(
                lo1 <= hi2 and lo2 <= hi1 for lo1, hi1 in ra[axis] for lo2, hi2 in rb[axis]
            )
        if shared:
            out.append(axis)
    return out
