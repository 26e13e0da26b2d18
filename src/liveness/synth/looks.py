"""Appearance variety of a capture: low or side light, an off-centre face, a turning head, a
stabilised image."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from liveness.config import SynthConfig
from liveness.synth.capture import Capture
from liveness.synth.scene import Lighting, Person
from liveness.synth.trajectory import DevicePath, RigidPath, Wobble

LIGHTINGS = ("normal", "low", "side")
# A normal scene needs an auto-exposure gain of ~0.4-2.9 (median 1.0, 90 % below 1.9, measured
# on 40 training-preset captures): above this gain the sensor's ISO is raised and its noise
# grows with it.
ISO_REF_GAIN = 2.0
# An electronic stabiliser follows the phone's deliberate turn and takes the hand's tremor
# (8-12 Hz) out of the image; of the sway (0.3-1.5 Hz) it leaves a share (Look.sway_kept).
# Wobbles below this frequency count as sway.
TREMOR_HZ = 3.0


@dataclass(frozen=True)
class Look:
    """What a clip's capture looks like beyond its scene: drawn from the clip's settings stream
    (all values always, in this order), applied to the capture before anything is rendered."""

    lighting: str  # normal | low (dim room: long exposure, high ISO) | side (window light)
    key_scale: float  # key light intensity factor (low, side)
    ambient_scale: float  # ambient light factor (low, side)
    side_dir: np.ndarray  # (3,) unit, key light from the side (side)
    exposure_s: float  # shutter time in a dim room, before the frame-interval cap (low)
    aim_deg: float  # extra aim error of the phone: the face sits off-centre (0 = none)
    aim_angle: float  # its direction in the image plane, rad
    turn_deg: float  # the head turns or nods this much during the clip (0 = none)
    turn_yaw: bool  # a turn (about the vertical) or a nod
    turn_t0: float  # when the turn starts, s; it lasts 0.6-1.2 s
    turn_len: float
    iso_noise: bool  # sensor noise grows with gain above ISO_REF_GAIN (presets; not the base)
    stabilised: bool  # the image is stabilised electronically (the gyro is not)
    sway_kept: float  # share of the hand's sway the stabilised image still shows

    @staticmethod
    def sample(cfg: SynthConfig, rng: np.random.Generator) -> Look:
        u_light = rng.random()
        key_low, amb_low = rng.uniform(0.08, 0.25), rng.uniform(0.1, 0.3)
        key_side, amb_side = rng.uniform(1.2, 1.6), rng.uniform(0.15, 0.35)
        side = np.array([rng.uniform(-0.1, 0.35), rng.uniform(0.85, 1.0), rng.uniform(-0.1, 0.35)])
        side[1] *= 1.0 if rng.random() < 0.5 else -1.0
        exposure = rng.uniform(0.03, 0.05)
        off = rng.random() < cfg.off_centre_share
        aim, aim_angle = rng.uniform(8.0, 15.0), rng.uniform(0.0, 2 * np.pi)
        turn = rng.random() < cfg.head_turn_share
        turn_deg = rng.uniform(5.0, 15.0) * (1.0 if rng.random() < 0.5 else -1.0)
        yaw = bool(rng.random() < 0.6)
        t0, length = rng.uniform(0.1, 0.8), rng.uniform(0.6, 1.2)
        cdf = np.cumsum(cfg.light_shares) / np.sum(cfg.light_shares)
        lighting = LIGHTINGS[min(int(np.searchsorted(cdf, u_light, side="right")), 2)]
        # Drawn last: the configurations made before stabilisation draw what they drew.
        stabilised = bool(rng.random() < cfg.stabilised_share)
        sway_kept = rng.uniform(*cfg.stabilised_sway)
        low = lighting == "low"
        return Look(
            lighting=lighting,
            key_scale=float(key_low if low else key_side),
            ambient_scale=float(amb_low if low else amb_side),
            side_dir=side / np.linalg.norm(side),
            exposure_s=float(exposure),
            aim_deg=float(aim) if off else 0.0,
            aim_angle=float(aim_angle),
            turn_deg=float(turn_deg) if turn else 0.0,
            turn_yaw=yaw,
            turn_t0=float(t0),
            turn_len=float(length),
            iso_noise=cfg.iso_noise,
            stabilised=stabilised,
            sway_kept=float(sway_kept),
        )

    def light(self, light: Lighting) -> None:
        """Change the capture's lights in place (the wall and any attack instrument share them)."""
        if self.lighting == "normal":
            return
        light.color = light.color * self.key_scale
        light.ambient = light.ambient * self.ambient_scale
        if self.lighting == "side":
            light.direction = self.side_dir.copy()

    def camera(self, capture: Capture, fps: float) -> None:
        """A dim room makes the camera expose longer (at most one frame interval): more blur."""
        if self.iso_noise:
            capture.camera.iso_ref = ISO_REF_GAIN
        if self.lighting == "low":
            capture.camera.exposure_s = min(self.exposure_s, 1.0 / fps)

    def person(self, person: object) -> None:
        """A person's head turns (about the vertical) or nods (about its left-right axis)."""
        if self.turn_deg and isinstance(person, Person):
            axis = np.array([0.0, 0.0, 1.0]) if self.turn_yaw else np.array([0.0, 1.0, 0.0])
            person.turn = np.radians(self.turn_deg) * axis
            person.turn_t = (self.turn_t0, self.turn_t0 + self.turn_len)

    def aim(self, path: DevicePath | RigidPath) -> None:
        """The phone aimed off the face: a static rotation about the device's x and y axes, so
        the face sits off-centre, partly cropped when large (gyro and camera stay one path)."""
        if self.aim_deg and isinstance(path, DevicePath):
            a = np.radians(self.aim_deg)
            path.aim = path.aim + a * np.array([np.cos(self.aim_angle), np.sin(self.aim_angle), 0])

    def image_path(self, path: DevicePath | RigidPath) -> DevicePath | RigidPath:
        """The path the image follows: `path` itself, or stabilised, its rotation's wobbles
        without the tremor and with sway_kept of the sway (the arc, the tilt, the aim and every
        translation kept: a stabiliser warps the image, it cannot move the camera). The
        gyro and the accelerometer keep following `path`."""
        if not self.stabilised or not isinstance(path, DevicePath):
            return path
        w = path.rot_wobble
        keep = np.where(w.freq < TREMOR_HZ, self.sway_kept, 0.0)[:, None]  # (K, 1)
        return replace(path, rot_wobble=Wobble(w.freq, w.amp * keep, w.phase))

    def meta(self) -> dict[str, object]:
        out: dict[str, object] = {
            "lighting": self.lighting,
            "aim_offset_deg": round(self.aim_deg, 3),
            "head_turn_deg": round(self.turn_deg, 3),
        }
        if self.stabilised:  # only then: the meta of clips made before stays as it was
            out["stabilised_sway_kept"] = round(self.sway_kept, 3)
        return out
