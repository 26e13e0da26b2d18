"""Per-clip capture settings drawn from a SynthConfig's ranges: unions, sizes, clock offsets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from liveness.config import SynthConfig


def intervals(ranges: Sequence[float]) -> list[tuple[float, float]]:
    """(lo1, hi1, lo2, hi2, ...) -> [(lo1, hi1), (lo2, hi2), ...]."""
    return [(float(lo), float(hi)) for lo, hi in zip(ranges[::2], ranges[1::2], strict=True)]


def draw(rng: np.random.Generator, ranges: Sequence[float]) -> float:
    """One value uniform over a union of intervals (lo1, hi1, lo2, hi2, ...), with one draw.

    A single interval is drawn exactly as `rng.uniform(lo, hi)`, the generator's original draw,
    so configurations with plain ranges render the same bytes as before unions existed.
    """
    parts = intervals(ranges)
    if len(parts) == 1:
        return float(rng.uniform(*parts[0]))
    widths = np.array([hi - lo for lo, hi in parts])
    u = float(rng.uniform(0.0, widths.sum()))
    for (lo, hi), w in zip(parts, widths, strict=True):
        if u <= w:
            return min(lo + u, hi)
        u -= w
    return parts[-1][1]  # pragma: no cover - rounding at the very top


def settings_rng(*entropy: int) -> np.random.Generator:
    """The child stream of the seed sequence `entropy` (e.g. (seed, index)) for settings added
    after the generator's first version. A child leaves the parent stream's draws untouched, so
    a configuration that does not use them still renders the same bytes."""
    return np.random.default_rng(np.random.SeedSequence(list(entropy)).spawn(1)[0])


@dataclass(frozen=True)
class ClipSettings:
    """The settings a clip draws from the child stream, always in this order."""

    width: int
    height: int
    imu_offset_ms: float  # sensor stamps run this much later than the frames' (genuine clock)
    shift_ms: float  # signed: the `shifted` injection's IMU is replayed this much late (+)

    @staticmethod
    def sample(cfg: SynthConfig, rng: np.random.Generator) -> ClipSettings:
        # Every value is drawn whether the clip uses it or not: the order never changes.
        u_size = rng.random()
        offset = rng.uniform(*cfg.imu_offset_ms)
        shift = rng.uniform(*cfg.injection_shift_ms) * (1.0 if rng.random() < 0.5 else -1.0)
        w, h = frame_size(cfg, u_size)
        return ClipSettings(w, h, float(offset), float(shift))


def frame_size(cfg: SynthConfig, u: float) -> tuple[int, int]:
    """The config's fixed size, or the size that the uniform number `u` picks from `sizes`."""
    if cfg.width is not None and cfg.height is not None:
        return cfg.width, cfg.height
    cdf = np.cumsum(cfg.size_weights) / np.sum(cfg.size_weights)
    k = min(int(np.searchsorted(cdf, u, side="right")), len(cfg.sizes) - 1)
    return cfg.sizes[k]
