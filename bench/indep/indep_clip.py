"""One clip: scene, per-frame rendering, attack variants and the IMU stream they carry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from indep_motion import FS, MARGIN, Motion, make_motion, rest_imu, sample_imu
from indep_scene import (
    HEAD_AXES,
    Face,
    Room,
    face_chart,
    hit_ellipsoid,
    hit_plane,
    make_room,
    rays,
    sample,
    shade_room,
)

PROFILES: dict[str, dict[str, Any]] = {
    "phone": {
        "hfov": (55, 68),
        "size": (240, 320),
        "fps": (12, 16),
        "imu": (60, 100),
        "jitter_ms": 3.0,
        "drop": 0.3,
    },
    "wide": {
        "hfov": (74, 80),
        "size": (480, 640),
        "fps": (24, 30),
        "imu": (150, 200),
        "jitter_ms": 1.0,
        "drop": 0.0,
    },
}
DIRS = ("left", "right", "up", "down")


@dataclass
class Look:
    light: np.ndarray  # unit vector toward the light, world
    amb: float
    gain: float  # exposure (low light < 0.4)
    noise: float


@dataclass
class Plane:
    tex: np.ndarray  # linear RGB
    half: tuple[float, float]
    emissive: bool
    glare: float


@dataclass
class Scene:
    room: Room
    face: Face | None
    look: Look
    blinks: list


def make_look(rng: np.random.Generator) -> Look:
    r = rng.random()
    if r < 0.15:  # strong side light
        s = rng.choice([-1.0, 1.0])
        light = np.array([s * 0.9, rng.uniform(0.1, 0.4), rng.uniform(0.0, 0.4)])
        amb, gain = rng.uniform(0.06, 0.16), rng.uniform(0.9, 1.3)
    else:
        light = np.array([rng.uniform(-0.5, 0.5), rng.uniform(0.4, 1.0), rng.uniform(0.1, 0.8)])
        amb, gain = rng.uniform(0.2, 0.5), rng.uniform(0.8, 1.3)
    noise = rng.uniform(0.002, 0.006)
    if rng.random() < 0.15:  # low light
        gain, noise = rng.uniform(0.15, 0.35), rng.uniform(0.006, 0.012)
    return Look(light / np.linalg.norm(light), float(amb), float(gain), float(noise))


def make_scene(rng: np.random.Generator, dur: float, face: Face | None) -> Scene:
    blinks = []
    for _ in range(int(rng.integers(1, 3))):
        t0 = rng.uniform(0.1, dur - 0.3)
        blinks.append((t0, t0 + rng.uniform(0.1, 0.25)))
    room = make_room(rng, rng.uniform(1.0, 4.0))
    return Scene(room, face, make_look(rng), blinks)


def render_lin(
    sc: Scene,
    rd: np.ndarray,
    shape: tuple[int, int],
    r_cam: np.ndarray,
    p_cam: np.ndarray,
    r_head: np.ndarray | None,
    p_head: np.ndarray | None,
    t: float,
    plane: tuple[Plane, np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Linear radiance image (h, w, 3) seen by a camera with device->world r_cam at p_cam."""
    o = p_cam.astype(np.float64)
    d = (rd @ r_cam.T.astype(np.float32)).astype(np.float64)
    light = sc.look.light
    col, tz = shade_room(sc.room, o, d, shape, light, sc.look.amb)
    amb = sc.look.amb
    if sc.face is not None and r_head is not None and p_head is not None:
        closed = any(a <= t < b for a, b in sc.blinks)
        chart = sc.face.closed if closed else sc.face.open_
        th, s = hit_ellipsoid(o, d, p_head, r_head, HEAD_AXES)
        m = th < tz
        if m.any():
            phi = np.arctan2(s[:, 0], s[:, 2])
            el = np.arcsin(np.clip(s[:, 1], -1, 1))
            hh, ww = chart.shape[:2]
            alb = sample(
                chart, (phi + np.pi) / (2 * np.pi) * ww, (np.pi / 2 - el) / np.pi * hh, shape
            )
            n = (s / HEAD_AXES) @ r_head.T
            n /= np.linalg.norm(n, axis=1, keepdims=True)
            lam = amb + (1 - amb) * np.clip(n @ light, 0, None)
            col[m] = (alb * lam[:, None])[m]
            tz = np.where(m, th, tz)
        skin = sc.face.open_[int(chart.shape[0] * 0.62), chart.shape[1] // 2 + 40]
        for cen, ax_ in (
            ((0, -0.12, -0.015), (0.048, 0.07, 0.05)),
            ((0, -0.34, -0.03), (0.21, 0.19, 0.12)),
        ):
            c = p_head + r_head @ np.array(cen)
            tb, s = hit_ellipsoid(o, d, c, r_head, np.array(ax_))
            m = tb < tz
            if m.any():
                n = (s / np.array(ax_)) @ r_head.T
                n /= np.linalg.norm(n, axis=1, keepdims=True)
                lam = amb + (1 - amb) * np.clip(n @ light, 0, None)
                if ax_[0] < 0.1:
                    alb = np.tile(skin * 0.9, (d.shape[0], 1))
                else:
                    alb = sample(sc.face.cloth, (s[:, 0] + 1) * 128, (1 - s[:, 1]) * 128, shape)
                col[m] = (alb * lam[:, None])[m]
                tz = np.where(m, tb, tz)
    if plane is not None:
        pl, r_pl, c_pl = plane
        tp, sq = hit_plane(o, d, c_pl, r_pl, pl.half)
        m = tp < tz
        if m.any():
            hh, ww = pl.tex.shape[:2]
            alb = sample(pl.tex, sq[:, 0] * ww, sq[:, 1] * hh, shape)
            n = -r_pl[:, 2]  # facing the camera
            if pl.emissive:
                val = alb + 0.02 * amb
            else:
                val = alb * (amb + (1 - amb) * max(0.0, float(n @ light)))
            if pl.glare > 0:
                refl = d - 2 * (d @ n)[:, None] * n[None]
                val = val + pl.glare * np.exp(-(1 - refl @ light) / 0.004)[:, None]
            col[m] = val[m]
    return col.reshape(shape[0], shape[1], 3)


def develop(rng: np.random.Generator, lin: np.ndarray, look: Look) -> np.ndarray:
    """Exposure, shot/read noise, gain, gamma -> sRGB uint8 (h, w, 3)."""
    x = lin * look.gain
    x = x + rng.normal(0, 1, x.shape) * np.sqrt(look.noise**2 + 0.0004 * np.clip(x, 0, None))
    if look.gain < 0.4:  # auto-gain brightens a dark scene and its noise
        x = x * (0.55 / look.gain)
    return (np.clip(x, 0, 1) ** (1 / 2.2) * 255 + 0.5).astype(np.uint8)


def fidx(t: float) -> int:
    return round((t + MARGIN) * FS)


def print_texture(rng: np.random.Generator, photo_lin: np.ndarray, border: bool) -> np.ndarray:
    """Reflectance of a printed photo: compressed range, colour cast, paper grain, halftone."""
    x = photo_lin / max(np.percentile(photo_lin, 99), 1e-3)
    cast = rng.uniform(0.88, 1.05, 3)
    sat = rng.uniform(0.6, 1.0)
    grey = x.mean(2, keepdims=True)
    x = grey + sat * (x - grey)
    refl = 0.03 + 0.8 * np.clip(x, 0, 1) ** rng.uniform(0.8, 1.1) * cast
    h, w = refl.shape[:2]
    refl *= 1 + rng.normal(0, 0.03, (h, w, 1))
    if rng.random() < 0.5:
        yy, xx = np.mgrid[0:h, 0:w]
        p = rng.uniform(2.5, 4.0)
        refl *= (1 - 0.06 * np.cos(2 * np.pi * xx / p) * np.cos(2 * np.pi * yy / p))[..., None]
    if border:
        b = int(0.05 * w)
        refl = cv2.copyMakeBorder(refl, b, b, b, b, cv2.BORDER_CONSTANT, value=(0.82,) * 3)
    return refl.astype(np.float32)


def screen_texture(frame_srgb: np.ndarray, gamma: float, bright: float, bezel: bool) -> np.ndarray:
    """Emitted radiance of a display showing a frame: gamma, brightness, subpixel grid."""
    x = (frame_srgb.astype(np.float32) / 255.0) ** gamma * bright + 0.01
    x = np.repeat(np.repeat(x, 3, 0), 3, 1)
    mask = np.full((3, 3, 3), 0.3, np.float32)
    for c in range(3):
        mask[:, c, c] = 2.4
    mask[2] *= 0.6
    mask /= mask.mean((0, 1))
    h, w = x.shape[:2]
    y = x * np.tile(mask, (h // 3, w // 3, 1))
    if bezel:
        b = int(0.04 * w)
        y = np.asarray(cv2.copyMakeBorder(y, b, b, b, b, cv2.BORDER_CONSTANT, value=(0.005,) * 3))
    return np.asarray(y, np.float32)


def plane_pose(m: Motion, i: int) -> tuple[np.ndarray, np.ndarray]:
    """Plane basis (image-right, image-down, normal toward the phone) from the holder's pose."""
    r = m.r_head[i] @ np.diag([1.0, -1.0, -1.0])
    return r, m.p_head[i]


def video_pose(m: Motion, i: int, stabilised: bool) -> tuple[np.ndarray, np.ndarray]:
    return (m.r_smooth[i] if stabilised else m.r_dev[i]), m.p_dev[i]


def imu_rows(
    rng: np.random.Generator,
    m: Motion,
    dur: float,
    rate: float,
    t0_ms: float,
    offset: float,
    shift: float,
    mode: str,
    other: Motion | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Stamps (ms) and (K,6) rows ax..gz. mode: genuine | rest | other."""
    tt = np.arange(-0.15, dur + 0.15, 1.0 / rate)
    tt = tt + rng.uniform(-0.0005, 0.0005, tt.size)
    stamps = t0_ms + 1000.0 * (tt + offset)
    if mode == "rest":
        return stamps, rest_imu(rng, tt.size)
    src = other if mode == "other" and other is not None else m
    return stamps, sample_imu(rng, src, tt, tt - shift)


def new_motion(rng: np.random.Generator, dur: float, dist: float, ch: str, crop: bool) -> Motion:
    off = (rng.normal(0, 0.02), rng.normal(0, 0.02))
    if crop:
        off = (rng.choice([-1, 1]) * rng.uniform(0.06, 0.1), rng.uniform(-0.06, 0.06))
    return make_motion(rng, dur, dist, ch, off)


def frame_times(rng: np.random.Generator, prof: dict, dur: float) -> tuple[np.ndarray, float]:
    fps = rng.uniform(*prof["fps"])
    t = np.arange(0, dur, 1.0 / fps)
    if rng.random() < prof["drop"]:
        t = np.delete(t, int(rng.integers(3, t.size - 3)))
    return t, fps


def make_face(rng: np.random.Generator) -> Face:
    return face_chart(rng)


def frontal_photo(sc: Scene, rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A frontal photo of the subject (linear radiance) for prints."""
    f = (w / 2) / np.tan(np.deg2rad(25))
    m = make_motion(rng, 2.0, 0.45, "left", (0.0, rng.uniform(-0.01, 0.02)))
    i = fidx(0.0)
    return render_lin(
        sc, rays(w, h, f), (h, w), m.r_dev[i], m.p_dev[i], m.r_head[i], m.p_head[i], 0.0
    )
