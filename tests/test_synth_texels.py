"""Texture lookups as a sensor sees them (liveness.synth.texels) and the filtered wall."""

from __future__ import annotations

import cv2
import numpy as np

from liveness.config import SynthConfig
from liveness.synth import capture as C
from liveness.synth.capture import FACE
from liveness.synth.presets import SHIFTED, TRAINING
from liveness.synth.scene import Lighting, Wall, wall_texture
from liveness.synth.texels import bilinear, mip_pyramid, trilinear
from liveness.synth.trajectory import DevicePath

LIGHT = Lighting(direction=np.array([1.0, 0.0, 0.0]), color=np.ones(3), ambient=np.full(3, 0.3))


def test_mip_levels_halve_and_keep_the_mean() -> None:
    tex = np.random.default_rng(0).random((16, 16, 3))
    mips = mip_pyramid(tex)
    assert [m.shape[0] for m in mips] == [16, 8, 4, 2, 1]
    for m in mips:
        assert np.allclose(m.mean((0, 1)), tex.mean((0, 1)), atol=1e-5)
    assert np.allclose(mips[1][0, 0], tex[:2, :2].mean((0, 1)), atol=1e-6)


def test_bilinear_and_trilinear_lookups() -> None:
    tex = np.random.default_rng(1).random((8, 8, 3)).astype(np.float32)
    i, j = np.array([2, 5]), np.array([3, 6])
    x, y = (j + 0.5) / 8, (i + 0.5) / 8  # texel centres
    assert np.allclose(bilinear(tex, x, y), tex[i, j], atol=1e-6)
    mid = bilinear(tex, np.array([3.0 / 8]), np.array([0.5 / 8]))  # between texels 2 and 3
    assert np.allclose(mid[0], 0.5 * (tex[0, 2] + tex[0, 3]), atol=1e-6)
    mips = mip_pyramid(tex)
    assert np.allclose(trilinear(mips, x, y, np.zeros(2)), tex[i, j], atol=1e-6)
    half = trilinear(mips, x, y, np.full(2, 0.5))
    want = 0.5 * (bilinear(mips[0], x, y) + bilinear(mips[1], x, y))
    assert np.allclose(half, want, atol=1e-6)
    assert np.allclose(trilinear(mips, x, y, np.full(2, 99.0)), mips[-1][0, 0], atol=1e-6)


def wall_frame(wall: Wall, dy: float, pixel_rad: float | None = None) -> np.ndarray:
    """A grey 96 × 128 frame (60°) of `wall` alone, filmed 0.3 m before the face and moved dy m
    sideways; the wall told the angle of a pixel as Capture.frames tells it (or `pixel_rad`)."""
    w, h = 96, 128
    f = C.focal_px(w, 60.0)
    wall.pixel_rad = 1.0 / f if pixel_rad is None else pixel_rad
    path = DevicePath(target=FACE, eye=FACE + np.array([0.3, 0.0, 0.0]))
    r0, p0 = path.pose(np.array([0.0]))
    rad = C.render([wall], r0[0], p0[0] + np.array([0.0, dy, 0.0]), C.pixel_rays(w, h, f), 0.0)
    g = cv2.GaussianBlur(rad.mean(-1).astype(np.float32), (0, 0), 0.5)
    return np.clip(g / max(float(g.max()), 1e-6) * 255, 0, 255).astype(np.uint8)


def test_a_filtered_wall_shows_fine_texture_as_its_average() -> None:
    # One-texel checkers 2.5 m away: each pixel covers ~2.4 texels. Averaged over the pixel
    # the wall is an even grey; one texel per ray, it aliases into a pattern.
    checks = (np.indices((256, 256)).sum(0) % 2).astype(np.float32)[..., None].repeat(3, -1)
    point = wall_frame(Wall(2.5, checks, LIGHT, mirror=True), 0.0).astype(float)
    area = wall_frame(Wall(2.5, checks, LIGHT, mirror=True, filtered=True), 0.0).astype(float)
    assert area.std() < 0.25 * point.std()


def test_a_filtered_wall_tracks_as_it_moves() -> None:
    """The check's tracker on a lone wall 2.8 m from the camera moved 2 cm sideways: where
    one texel per ray aliases (planks, wallpaper), averaging over the pixel tracks within a
    tenth of a pixel of the true shift (f · 2 cm / 2.8 m)."""
    f = C.focal_px(96, 60.0)
    want = f * 0.02 / 2.8
    worst = {False: 0.0, True: 0.0}
    for style, seed in (("planks", 1), ("wallpaper", 0)):
        for filtered in (False, True):
            tex = wall_texture(np.random.default_rng(seed), style=style)
            wall = Wall(2.5, tex, LIGHT, mirror=True, filtered=filtered)
            a, b = wall_frame(wall, 0.0), wall_frame(wall, 0.02)
            pts = cv2.goodFeaturesToTrack(a, 60, 0.005, 4, blockSize=5)
            p1, st, _ = cv2.calcOpticalFlowPyrLK(a, b, pts, None, winSize=(15, 15), maxLevel=2)
            d = (p1 - pts).reshape(-1, 2)[st.ravel() == 1]
            err = np.median(np.hypot(np.abs(d[:, 0]) - want, d[:, 1]))
            worst[filtered] = max(worst[filtered], float(err))
    assert worst[True] < 0.1 < worst[False]


def test_filtered_walls_are_off_unless_asked() -> None:
    # Off in the base and every preset: their clips keep their bytes.
    assert not SynthConfig().wall_filtered and not TRAINING.wall_filtered
    assert not SHIFTED.wall_filtered
    tex = wall_texture(np.random.default_rng(2))
    wall = Wall(1.0, tex, LIGHT, mirror=True)
    # Unfiltered, the pixel's angle changes nothing: one texel per ray, as before.
    assert np.array_equal(wall_frame(wall, 0.0, 0.0), wall_frame(wall, 0.0))
