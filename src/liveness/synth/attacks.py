"""Presentation-attack instruments: a printed photo or a replaying screen, as scene surfaces."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from liveness.synth.scene import Lighting

# Sheet frame: x along the content's columns (image right as a viewer sees it), y along its rows
# upward, z the normal toward the viewer. A bent print is the surface z = κ·x²/2 in that frame.


class Posed(Protocol):
    def pose(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass
class StaticPose:
    """A pose that does not change (a photo on a stand)."""

    r: np.ndarray
    p: np.ndarray

    def pose(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = len(np.atleast_1d(t))
        return np.broadcast_to(self.r, (n, 3, 3)), np.broadcast_to(self.p, (n, 3))


@dataclass
class PrintLook:
    """How a print differs from the scene: ink gamut, halftone, paper, gloss."""

    contrast: float
    black: float
    saturation: float
    halftone_lpm: float  # halftone lines per metre on the paper
    halftone_amp: float
    gloss: float
    grain: np.ndarray  # (64, 64) paper texture multiplier

    @staticmethod
    def sample(rng: np.random.Generator, fine: bool = False) -> PrintLook:
        """An office print; `fine`: a photographic one (full contrast and colour, no visible
        halftone, faint grain), whose only tells are that it is flat and does not change.
        Both draw the same numbers from rng (a clip's other draws do not move)."""
        r = FINE_PRINT if fine else OFFICE_PRINT
        return PrintLook(
            contrast=rng.uniform(*r["contrast"]),
            black=rng.uniform(*r["black"]),
            saturation=rng.uniform(*r["saturation"]),
            halftone_lpm=rng.uniform(1500, 6000),
            halftone_amp=rng.uniform(*r["halftone_amp"]),
            gloss=rng.uniform(*r["gloss"]),
            grain=1 + rng.uniform(*r["grain"]) * rng.standard_normal((64, 64)),
        )


# The ranges each kind of instrument is drawn from (docs/SYNTH.md, "Fine media").
Ranges = dict[str, tuple[float, float]]
OFFICE_PRINT: Ranges = {
    "contrast": (0.55, 0.9), "black": (0.02, 0.08), "saturation": (0.6, 1.0),
    "halftone_amp": (0.0, 0.25), "gloss": (0.0, 0.5), "grain": (0.01, 0.06),
}  # fmt: skip
FINE_PRINT: Ranges = {
    "contrast": (0.9, 1.0), "black": (0.0, 0.02), "saturation": (0.9, 1.05),
    "halftone_amp": (0.0, 0.03), "gloss": (0.0, 0.15), "grain": (0.0, 0.01),
}  # fmt: skip
CHEAP_SCREEN: Ranges = {
    "brightness": (0.5, 1.3), "black": (0.005, 0.04), "gamma": (0.85, 1.2), "tint": (0.9, 1.1),
    "grid_amp": (0.1, 0.5), "glare": (0.0, 0.6),
}  # fmt: skip
FINE_SCREEN: Ranges = {
    "brightness": (0.85, 1.15), "black": (0.0, 0.01), "gamma": (0.95, 1.05), "tint": (0.97, 1.03),
    "grid_amp": (0.0, 0.05), "glare": (0.0, 0.2),
}  # fmt: skip


@dataclass
class ScreenLook:
    """How a display differs: brightness, black level, gamma, pixel grid, glare, bezel."""

    brightness: float
    black: float
    gamma: float
    tint: np.ndarray
    pixels: tuple[int, int]  # native resolution across (x, y): its grid aliases into moiré
    grid_amp: float
    glare: float
    glare_dir: np.ndarray  # world direction of a bright window reflected by the glass
    bezel: float  # bezel width as a fraction of the sheet's width

    @staticmethod
    def sample(rng: np.random.Generator, fine: bool = False) -> ScreenLook:
        """A phone or tablet screen; `fine`: a high-end one (true colour and tone, a pixel grid
        too fine to show, little glare). Both draw the same numbers from rng."""
        g = np.array([rng.uniform(0.2, 1.0), rng.uniform(-1, 1), rng.uniform(-0.2, 1.0)])
        w = int(rng.choice([720, 1080, 1170, 1536, 2048]))
        r = FINE_SCREEN if fine else CHEAP_SCREEN
        return ScreenLook(
            brightness=rng.uniform(*r["brightness"]),
            black=rng.uniform(*r["black"]),
            gamma=rng.uniform(*r["gamma"]),
            # A cheap panel runs blue; a fine one's three gains are drawn near 1.
            tint=rng.uniform(*r["tint"], 3) * (1.0 if fine else np.array([0.95, 1.0, 1.07])),
            pixels=(w, int(w * rng.uniform(1.3, 2.2))),
            grid_amp=rng.uniform(*r["grid_amp"]),
            glare=rng.uniform(*r["glare"]),
            glare_dir=g / np.linalg.norm(g),
            bezel=rng.uniform(0.02, 0.08),
        )


@dataclass
class Sheet:
    """A flat or bent rectangle showing content(t): a print (reflective) or a screen (emissive)."""

    path: Posed
    size: tuple[float, float]  # width, height in metres, content fills it
    content: Callable[[float], np.ndarray]  # time -> (Hc, Wc, 3) linear RGB
    light: Lighting
    look: PrintLook | ScreenLook
    bend: float = 0.0  # curvature κ, 1/m
    thumbs: list[tuple[float, float, float]] = field(default_factory=list)  # (u, v, radius)
    skin: np.ndarray = field(default_factory=lambda: np.array([0.5, 0.33, 0.25]))

    def trace(
        self, origin: np.ndarray, dirs: np.ndarray, t: float
    ) -> tuple[np.ndarray, np.ndarray]:
        r, p = self.path.pose(np.array([t]))
        r, p = r[0], p[0]
        o, v = r.T @ (origin - p), dirs @ r  # sheet frame
        k = self.bend
        # Solve o_z + t v_z = κ/2 (o_x + t v_x)², nearest positive root.
        a = 0.5 * k * v[:, 0] ** 2
        b = k * o[0] * v[:, 0] - v[:, 2]
        c = 0.5 * k * o[0] ** 2 - o[2]
        with np.errstate(divide="ignore", invalid="ignore"):
            lin = np.where(np.abs(b) > 1e-12, -c / b, np.inf)
            disc = b * b - 4 * a * c
            sq = np.sqrt(np.where(disc >= 0, disc, np.nan))
            r1, r2 = (-b - sq) / (2 * a), (-b + sq) / (2 * a)
            quad = np.fmin(np.where(r1 > 0, r1, np.nan), np.where(r2 > 0, r2, np.nan))
        dist = np.where(np.abs(a) < 1e-9, lin, quad)
        dist = np.where(np.isfinite(dist) & (dist > 0), dist, np.inf)
        q = o + np.where(np.isfinite(dist), dist, 0.0)[:, None] * v
        w, h = self.size
        u_, v_ = q[:, 0] / w + 0.5, 0.5 - q[:, 1] / h
        on = np.isfinite(dist) & (u_ >= 0) & (u_ <= 1) & (v_ >= 0) & (v_ <= 1)
        dist = np.where(on, dist, np.inf)
        rgb = np.zeros((len(dirs), 3))
        hit = np.nonzero(on)[0]  # shade only the rays that land on the sheet
        normal = np.stack([-k * q[hit, 0], np.zeros(len(hit)), np.ones(len(hit))], -1)
        normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
        rgb[hit] = self._shade(u_[hit], v_[hit], normal @ r.T, dirs[hit], t)
        return dist, rgb

    def _sample(self, img: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        hc, wc = img.shape[:2]
        x = np.clip(u * wc - 0.5, 0, wc - 1.001)
        y = np.clip(v * hc - 0.5, 0, hc - 1.001)
        x0, y0 = x.astype(np.int64), y.astype(np.int64)
        fx, fy = (x - x0)[:, None], (y - y0)[:, None]
        return (
            img[y0, x0] * (1 - fx) * (1 - fy)
            + img[y0, x0 + 1] * fx * (1 - fy)
            + img[y0 + 1, x0] * (1 - fx) * fy
            + img[y0 + 1, x0 + 1] * fx * fy
        )

    def _shade(
        self, u: np.ndarray, v: np.ndarray, normal: np.ndarray, dirs: np.ndarray, t: float
    ) -> np.ndarray:
        w, h = self.size
        look = self.look
        refl = dirs - 2 * np.sum(dirs * normal, -1, keepdims=True) * normal
        if isinstance(look, PrintLook):
            c = self._sample(self.content(t), u, v)
            grey = c.mean(-1, keepdims=True)
            c = grey + look.saturation * (c - grey)
            c = look.black + look.contrast * c
            # Halftone dots: a periodic modulation on the paper; the camera aliases it.
            xs, ys = u * w * look.halftone_lpm, v * h * look.halftone_lpm
            c *= (
                1
                - look.halftone_amp
                * (0.5 + 0.25 * (np.cos(2 * np.pi * xs) + np.cos(2 * np.pi * ys)))
            )[:, None]
            gi = (u * w * 2000).astype(np.int64) % 64, (v * h * 2000).astype(np.int64) % 64
            c *= look.grain[gi[1], gi[0]][:, None]
            c = self._thumbs(c, u, v)
            ndl = np.abs(normal @ self.light.direction)[:, None]
            spec = look.gloss * np.clip(refl @ self.light.direction, 0, None) ** 30
            return (
                c * (self.light.ambient + ndl * self.light.color) + spec[:, None] * self.light.color
            )
        # Screen: emissive content inside the bezel, glass reflections on top.
        b = look.bezel
        ua = (u - b) / (1 - 2 * b)
        va = (v - b * w / h) / (1 - 2 * b * w / h)
        active = (ua >= 0) & (ua <= 1) & (va >= 0) & (va <= 1)
        c = self._sample(self.content(t), np.clip(ua, 0, 1), np.clip(va, 0, 1))
        c = look.brightness * np.power(np.clip(c, 0, 1), look.gamma) * look.tint + look.black
        px, py = look.pixels
        grid = (0.5 + 0.5 * np.cos(2 * np.pi * ua * px)) * (0.5 + 0.5 * np.cos(2 * np.pi * va * py))
        c *= (1 - look.grid_amp + look.grid_amp * 2 * grid)[:, None]
        c = np.where(active[:, None], c, 0.02)
        c = self._thumbs(c, u, v)
        glare = look.glare * np.exp(-(1 - np.clip(refl @ look.glare_dir, -1, 1)) / 0.02)
        sheen = 0.04 * self.light.ambient
        return c + glare[:, None] + sheen

    def _thumbs(self, c: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """The holder's thumbs over the edge of the sheet."""
        w, h = self.size
        for tu, tv, rad in self.thumbs:
            inside = ((u - tu) * w / rad) ** 2 + ((v - tv) * h / (1.8 * rad)) ** 2 < 1
            c = np.where(
                inside[:, None], self.skin * (self.light.ambient + 0.6 * self.light.color), c
            )
        return c
