"""A person in a room (head, neck, shoulders, textured wall, lights), rendered by ray casting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from liveness.rotation import rotvec_to_matrix
from liveness.synth.atlas import Atlas, sample_atlas, to_linear
from liveness.synth.geometry import ray_ellipsoid, ray_plane
from liveness.synth.head import cast_head
from liveness.synth.settings import draw
from liveness.synth.texels import mip_pyramid, trilinear
from liveness.synth.trajectory import Wobble, min_jerk


@dataclass
class Lighting:
    """One directional key light plus ambient light, linear RGB."""

    direction: np.ndarray  # (3,) unit, from the surface toward the light
    color: np.ndarray  # (3,)
    ambient: np.ndarray  # (3,)

    @staticmethod
    def sample(rng: np.random.Generator, warmth: Sequence[float] = (-0.15, 0.15)) -> Lighting:
        d = np.array([rng.uniform(0.3, 1.0), rng.uniform(-1.0, 1.0), rng.uniform(-0.1, 1.0)])
        warm = draw(rng, warmth)  # colour temperature: warm bulbs to cool daylight
        tint = np.array([1 + warm, 1.0, 1 - warm])
        return Lighting(
            direction=d / np.linalg.norm(d),
            color=tint * rng.uniform(0.6, 1.2),
            ambient=tint * rng.uniform(0.15, 0.45),
        )

    def shade(
        self, albedo: np.ndarray, normal: np.ndarray, view: np.ndarray, spec: np.ndarray | float
    ) -> np.ndarray:
        """Wrapped Lambert (soft, skin-like) plus Blinn-Phong highlight; view points to the eye."""
        light = self.direction.astype(np.float32)
        ndl = normal @ light
        diffuse = np.clip((ndl + 0.25) / 1.25, 0, None)[:, None]
        h = light[None] + view
        # n·h / |h| without a per-row norm reduction (3-wide reductions are slow in numpy).
        hh = h[:, 0] ** 2 + h[:, 1] ** 2 + h[:, 2] ** 2
        nh = normal[:, 0] * h[:, 0] + normal[:, 1] * h[:, 1] + normal[:, 2] * h[:, 2]
        hl = np.clip(nh / np.sqrt(hh + 1e-12), 0, None) ** 24
        lit = (self.ambient + diffuse * self.color).astype(np.float32)
        return albedo * lit + (spec * hl)[:, None] * self.color.astype(np.float32)


class SceneObject(Protocol):
    def trace(
        self, origin: np.ndarray, dirs: np.ndarray, t: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Distance (N,) (+inf on a miss) and linear RGB (N, 3) of rays from origin at time t."""
        ...


@dataclass
class Person:
    """A subject's head on a neck and shoulders, with blinks and small head motion."""

    atlas: Atlas
    light: Lighting
    cloth: np.ndarray  # linear RGB
    blinks: list[float]  # blink start times, s
    head_rot: Wobble = field(default_factory=Wobble.none)
    head_pos: Wobble = field(default_factory=Wobble.none)
    turn: np.ndarray | None = None  # a deliberate head turn or nod (world rotvec), or none
    turn_t: tuple[float, float] = (0.0, 1.0)  # its start and end, s (minimum jerk)

    def openness(self, t: float) -> float:
        """Eyelid opening: a blink closes in ~80 ms and reopens in ~150 ms."""
        o = 1.0
        for b in self.blinks:
            dt = t - b
            if 0 <= dt < 0.08:
                o = min(o, 1 - dt / 0.08)
            elif 0.08 <= dt < 0.23:
                o = min(o, (dt - 0.08) / 0.15)
        return o

    def head_pose(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        tt = np.array([t])
        rot = self.head_rot(tt)[0]
        if self.turn is not None:
            rot = rot + min_jerk(tt, *self.turn_t)[0] * self.turn
        return rotvec_to_matrix(rot), self.head_pos(tt)[0]

    def trace(
        self, origin: np.ndarray, dirs: np.ndarray, t: float
    ) -> tuple[np.ndarray, np.ndarray]:
        r_head, c_head = self.head_pose(t)
        dist = np.full(len(dirs), np.inf, np.float32)
        rgb = np.zeros((len(dirs), 3), np.float32)
        hit = cast_head(self.atlas, r_head, c_head, origin, dirs, self.openness(t))
        dist[hit.index] = hit.t
        rgb[hit.index] = self.light.shade(hit.albedo, hit.normal, -dirs[hit.index], hit.specular)
        # Neck and shoulders: ellipsoids that sway with the body, not with the head's rotation.
        for centre, axes, color in (
            (np.array([-0.035, 0.0, -0.15]), np.array([0.05, 0.052, 0.07]), self.atlas.skin),
            (np.array([-0.07, 0.0, -0.37]), np.array([0.12, 0.21, 0.2]), self.cloth),
        ):
            o = origin - (centre + c_head)
            t_in, _, ok = ray_ellipsoid(o, dirs, axes)
            ok &= (t_in > 0) & (t_in < dist)
            if ok.any():
                p = o + t_in[ok, None] * dirs[ok]
                n = p / axes**2
                n /= np.sqrt(n[:, 0] ** 2 + n[:, 1] ** 2 + n[:, 2] ** 2)[:, None]
                dist[ok] = t_in[ok]
                rgb[ok] = self.light.shade(np.broadcast_to(color, n.shape), n, -dirs[ok], 0.05)
        return dist, rgb


@dataclass
class Wall:
    """A textured wall behind the person (plane x = −distance), 4 m × 4 m of texture."""

    distance: float
    texture: np.ndarray  # (S, S, 3) linear RGB
    light: Lighting
    extent: float = 4.0
    # Beyond its 4 m the texture repeats mirrored (seamless); False smears its edge pixels, as
    # the first version did (wide views of far walls show streaks then).
    mirror: bool = False
    # Average the texture over each pixel's footprint on the wall (mip-mapped, trilinear), as
    # a sensor integrates light over a pixel. Off, each ray samples one texel, and texture finer
    # than a pixel aliases into patterns that move unlike the wall (docs/MOTION.md, "Where the
    # room corners sit"). Off in the base and the presets so far (their clips' bytes).
    filtered: bool = False
    pixel_rad: float = 0.0  # the angle one pixel spans, rad: set by the capture that films it
    _mips: list[np.ndarray] | None = field(default=None, repr=False)

    def trace(
        self, origin: np.ndarray, dirs: np.ndarray, t: float
    ) -> tuple[np.ndarray, np.ndarray]:
        n = np.array([1.0, 0.0, 0.0])
        dist = ray_plane(origin, dirs, np.array([-self.distance, 0.0, 0.0]), n)
        ok = np.isfinite(dist)
        p = origin + np.where(ok, dist, 0.0)[:, None] * dirs
        x, y = (p[:, 1] / self.extent) + 0.5, 0.5 - (p[:, 2] / self.extent)  # texture units
        if self.mirror:
            x, y = 1 - np.abs(np.mod(x, 2) - 1), 1 - np.abs(np.mod(y, 2) - 1)
        lit = self.light.ambient + max(float(n @ self.light.direction), 0.0) * self.light.color
        if self.filtered and self.pixel_rad > 0:
            # A pixel's footprint on the wall (m): its angle times the distance, stretched by
            # the obliquity; in texels, its log2 is the mip level.
            if self._mips is None:
                self._mips = mip_pyramid(self.texture)
            slant = np.maximum(np.abs(dirs @ n), 0.1)
            foot = np.where(ok, dist, 0.0) * self.pixel_rad / slant
            level = np.log2(np.maximum(foot * self.texture.shape[0] / self.extent, 1.0))
            return dist, trilinear(self._mips, x, y, level) * lit
        s = self.texture.shape[0]
        u = np.clip(x * s, 0, s - 1).astype(np.int64)
        v = np.clip(y * s, 0, s - 1).astype(np.int64)
        return dist, self.texture[v, u] * lit


WALL_STYLES = ("painted", "planks", "wallpaper", "tiled")


def wall_texture(rng: np.random.Generator, size: int = 256, style: str = "painted") -> np.ndarray:
    """A room wall, (size, size, 3) linear RGB in [0, 1], of one texture family:
    "painted" (paint colour, gradient, posters, shelves, door or window frames), "planks"
    (wooden boards with grain), "wallpaper" (a printed motif repeating on a grid) or "tiled"
    (tiles or bricks: the family the training preset never shows, kept for the shifted one)."""
    if style == "tiled":
        return _tiled_wall(rng, size)
    if style == "planks":
        return _plank_wall(rng, size)
    if style == "wallpaper":
        return _wallpaper(rng, size)
    if style != "painted":
        raise ValueError(f"unknown wall style {style!r} ({' | '.join(WALL_STYLES)})")
    base = rng.uniform(0.25, 0.95, 3) * rng.uniform(0.5, 1.0)
    img = Image.new("RGB", (size, size), tuple(int(c * 255) for c in base))
    draw = ImageDraw.Draw(img)
    for _ in range(rng.integers(2, 9)):
        x0, y0 = rng.integers(0, size, 2)
        w, h = rng.integers(size // 16, size // 2, 2)
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.rectangle([x0, y0, x0 + w, y0 + h], fill=color)
        else:
            draw.rectangle([x0, y0, x0 + w, y0 + h], outline=color, width=int(rng.integers(2, 6)))
    img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 2.5))))
    arr = np.asarray(img, dtype=np.float32) / 255.0
    grad = np.linspace(rng.uniform(0.7, 1.0), rng.uniform(0.7, 1.0), size)[:, None, None]
    grain = 1 + 0.04 * rng.standard_normal((size, size, 1))
    return to_linear(arr * grad * grain).astype(np.float32)


def _tiled_wall(rng: np.random.Generator, size: int) -> np.ndarray:
    """Tiles or bricks: a regular grid of units, each its own shade, with grout lines between
    (square tiles in a stack bond, or bricks with every other row offset by half a unit)."""
    bricks = rng.random() < 0.5
    unit_h = int(rng.integers(size // 32, size // 10))
    unit_w = 2 * unit_h if bricks else unit_h
    grout = int(rng.integers(1, 4))
    base = rng.uniform(0.2, 0.9, 3) * rng.uniform(0.6, 1.0)
    grout_c = rng.uniform(0.3, 0.95) * np.ones(3)
    rows = np.arange(size) // unit_h
    offset = np.where(bricks & (rows % 2 == 1), unit_w // 2, 0)
    cols = (np.arange(size)[None, :] + offset[:, None]) // unit_w  # (S, S)
    n = (rows.max() + 1) * (cols.max() + 2)
    shade = base * (1 + rng.uniform(-0.15, 0.15, (n, 1)))  # each unit its own shade
    arr = shade[(rows[:, None] * (cols.max() + 2) + cols) % n]
    in_grout = ((np.arange(size) % unit_h) < grout)[:, None] | (
        ((np.arange(size)[None, :] + offset[:, None]) % unit_w) < grout
    )
    arr[in_grout] = grout_c
    grain = 1 + 0.05 * rng.standard_normal((size, size, 1))
    return to_linear(np.clip(arr * grain, 0, 1)).astype(np.float32)


def _plank_wall(rng: np.random.Generator, size: int) -> np.ndarray:
    """Wooden boards, vertical or horizontal: each board its own shade, fine grain streaks along
    it (smooth noise stretched along the board), dark seams between boards."""
    board = int(rng.integers(size // 24, size // 6))
    seam = int(rng.integers(1, 3))
    base = np.array([0.55, 0.38, 0.22]) * rng.uniform(0.5, 1.4) + rng.uniform(-0.08, 0.08, 3)
    across = np.arange(size) // board  # board index across the boards
    shade = 1 + rng.uniform(-0.2, 0.2, across.max() + 1)
    # Grain: noise varying fast across a board and slowly along it.
    coarse = rng.standard_normal((max(2, size // 32), size))
    grain = np.asarray(Image.fromarray(coarse.astype(np.float32)).resize((size, size),
                       Image.Resampling.BILINEAR))  # fmt: skip
    arr = base[None, None, :] * (shade[across][None, :, None] + 0.08 * grain[..., None])
    arr[:, (np.arange(size) % board) < seam] *= 0.45  # seams
    if rng.random() < 0.5:
        arr = np.swapaxes(arr, 0, 1)  # horizontal boards
    return to_linear(np.clip(arr, 0, 1)).astype(np.float32)


def _wallpaper(rng: np.random.Generator, size: int) -> np.ndarray:
    """Printed wallpaper: a motif (dot, diamond or stripe) repeating on a grid over a base
    colour, in one or two inks, slightly soft."""
    period = int(rng.integers(size // 28, size // 8))
    base = rng.uniform(0.35, 0.95, 3)
    ink = np.clip(base * rng.uniform(0.3, 0.8) + rng.uniform(-0.2, 0.2, 3), 0, 1)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    if rng.random() < 0.5:
        xx = xx + (yy // period % 2) * period / 2  # half-drop repeat
    u, v = (xx % period) / period - 0.5, (yy % period) / period - 0.5  # in [-0.5, 0.5)
    kind = int(rng.integers(0, 3))
    r = rng.uniform(0.15, 0.35)
    if kind == 0:
        mask = u * u + v * v < r * r  # dots
    elif kind == 1:
        mask = np.abs(u) + np.abs(v) < r * 1.3  # diamonds
    else:
        mask = np.abs(u) < r * 0.6  # stripes
    arr = np.where(mask[..., None], ink, base)
    img = Image.fromarray((arr * 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.2)))
    )
    out = (
        np.asarray(img, dtype=np.float32)
        / 255.0
        * (1 + 0.03 * rng.standard_normal((size, size, 1)))
    )
    return to_linear(np.clip(out, 0, 1)).astype(np.float32)


def sample_person(
    rng: np.random.Generator,
    duration: float,
    atlas: Atlas | None = None,
    warmth: Sequence[float] = (-0.15, 0.15),
) -> Person:
    """A subject (or the given one) with this capture's lighting, blinks and head motion."""
    atlas = atlas if atlas is not None else sample_atlas(rng)
    n_blinks = rng.choice([0, 1, 1, 2])
    return Person(
        atlas=atlas,
        light=Lighting.sample(rng, warmth),
        cloth=to_linear(rng.uniform(0.05, 0.9, 3)),
        blinks=sorted(rng.uniform(-0.1, duration - 0.1, n_blinks).tolist()),
        head_rot=Wobble.sample(rng, [(0.1, 0.6, np.radians(rng.uniform(0.5, 2.5)))]),
        head_pos=Wobble.sample(rng, [(0.1, 0.6, 0.003)]),
    )


# Rays traced per pass. Larger frames go in pieces of this size: every ray's result is the
# same, but the per-ray arrays stay in cache (a 480×640 frame traced whole ran ~4× slower per
# pixel than a 96×128 one). Frames up to this size are traced whole, exactly as before.
RAY_CHUNK = 16384


def render(
    objects: list[SceneObject], r_cam: np.ndarray, p_cam: np.ndarray, rays_dev: np.ndarray, t: float
) -> np.ndarray:
    """Linear-RGB image (H, W, 3) seen by a camera at pose (r_cam, p_cam): nearest hit wins."""
    h, w, _ = rays_dev.shape
    # float32 halves the memory traffic of every per-ray operation; metres need no more.
    dirs = (rays_dev.reshape(-1, 3) @ r_cam.T).astype(np.float32)  # (H·W, 3) world directions
    p_cam = p_cam.astype(np.float32)
    rgb = np.zeros((len(dirs), 3), np.float32)
    for s in range(0, len(dirs), RAY_CHUNK):
        part = dirs[s : s + RAY_CHUNK]
        best = np.full(len(part), np.inf, np.float32)
        out = rgb[s : s + RAY_CHUNK]
        for obj in objects:
            dist, color = obj.trace(p_cam, part, t)
            closer = dist < best
            best = np.where(closer, dist, best)
            out[closer] = color[closer]
    return rgb.reshape(h, w, 3).astype(np.float32)
