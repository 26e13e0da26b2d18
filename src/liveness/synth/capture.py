"""A camera filming a scene along a path: the live capture set-up shared by every clip class."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from liveness.config import SynthConfig
from liveness.synth.atlas import Atlas, to_linear
from liveness.synth.geometry import focal_px, pixel_rays
from liveness.synth.imaging import CameraModel
from liveness.synth.scene import Lighting, SceneObject, Wall, render, sample_person, wall_texture
from liveness.synth.settings import draw
from liveness.synth.trajectory import DevicePath, RigidPath, imu_from_pose, sample_device_path

FACE = np.zeros(3)  # the face (or the attack instrument) sits at the world origin, facing +x


@dataclass
class Capture:
    """A camera looking at a scene: the objects, its path and its optics."""

    objects: list[SceneObject]
    path: DevicePath | RigidPath
    hfov: float
    width: int
    height: int
    camera: CameraModel
    light: Lighting
    # The path whose turn smears each exposure when it is not `path`: the phone's own under an
    # electronic stabiliser (which warps the image after the exposure; Look.image_path).
    shake: DevicePath | RigidPath | None = None

    def frames(self, times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        f = focal_px(self.width, self.hfov)
        rays = pixel_rays(self.width, self.height, f)
        r, p = self.path.pose(times)
        gyro, _ = imu_from_pose(self.shake or self.path, times)
        for obj in self.objects:  # a filtered wall averages its texture over a pixel's angle
            if isinstance(obj, Wall):
                obj.pixel_rad = 1.0 / f
        out = []
        for i, t in enumerate(times):
            radiance = render(self.objects, r[i], p[i], rays, float(t))
            if i == 0:
                self.camera.auto_expose(radiance)
            # Rotation during the exposure smears the image by f·ω·τ (du ∝ ω_y, dv ∝ −ω_x).
            blur = f * self.camera.exposure_s * np.array([gyro[i, 1], -gyro[i, 0]])
            out.append(self.camera.develop(radiance, float(t), blur, rng))
        return np.stack(out)


def room(rng: np.random.Generator, light: Any, cfg: SynthConfig) -> Wall:
    distance = rng.uniform(0.6, 3.0)
    style = cfg.wall_style
    if cfg.wall_styles:  # only then a draw: configurations without it keep their bytes
        style = cfg.wall_styles[int(rng.integers(len(cfg.wall_styles)))]
    return Wall(
        distance,
        wall_texture(rng, style=style),
        light,
        mirror=cfg.wall_mirror,
        filtered=cfg.wall_filtered,
    )


def live_capture(
    rng: np.random.Generator,
    atlas: Atlas,
    cfg: SynthConfig,
    duration: float,
    challenge: str,
    width: int,
    height: int,
    distance: float | None = None,
    amplitude: float | None = None,
) -> Capture:
    person = sample_person(rng, duration, atlas, warmth=cfg.light_warmth)
    if amplitude is None:
        amplitude = rng.uniform(3, 8) if rng.random() < 0.1 else rng.uniform(10, 25)
    if distance is None:
        distance = rng.uniform(*cfg.face_distance_m)
    target = FACE + np.array([0.0, rng.normal(0, 0.01), rng.normal(-0.01, 0.015)])
    path = sample_device_path(rng, target, distance, challenge, amplitude, duration)
    return Capture(
        objects=[person, room(rng, person.light, cfg)],
        path=path,
        hfov=draw(rng, cfg.hfov_deg),
        width=width,
        height=height,
        camera=CameraModel.sample(rng),
        light=person.light,
    )


def linear(frames: np.ndarray) -> np.ndarray:
    return to_linear(frames.astype(np.float32) / 255.0).astype(np.float32)


def half_tans(hfov: float, width: int, height: int) -> tuple[float, float]:
    th = np.tan(np.radians(hfov) / 2)
    return th, th * height / width
