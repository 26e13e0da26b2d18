"""Render one clip of a given class: frames through the phone camera, IMU from the same path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from liveness.config import SynthConfig
from liveness.synth.atlas import Atlas
from liveness.synth.capture import FACE, live_capture
from liveness.synth.looks import Look
from liveness.synth.settings import ClipSettings, draw, settings_rng
from liveness.synth.spec import ClipSpec
from liveness.synth.staging import attack_capture
from liveness.synth.trajectory import (
    CHALLENGES,
    DevicePath,
    RigidPath,
    SensorModel,
    imu_from_pose,
    resting_path,
    sample_device_path,
    sample_times,
)


@dataclass
class Rendered:
    frames: np.ndarray  # (T, H, W, 3) uint8
    frame_t_ms: np.ndarray  # (T,)
    imu: np.ndarray | None  # (N, 7): t_ms, ax, ay, az, gx, gy, gz
    meta: dict[str, Any]
    jpeg_quality: int


def render_clip(spec: ClipSpec, atlas: Atlas, cfg: SynthConfig, seed: int) -> Rendered:
    """Render the clip `spec` of subject `atlas`; every random choice comes from (seed, index)."""
    rng = np.random.default_rng([seed, spec.index])
    # Size, clock offset and replay shift come from a child stream of (seed, index): the main
    # stream's draws stay as they were, so the base configuration renders the same bytes.
    srng = settings_rng(seed, spec.index)
    cs = ClipSettings.sample(cfg, srng)
    look = Look.sample(cfg, srng)
    w, h = cs.width, cs.height
    duration = rng.uniform(*cfg.duration_s)
    fps = draw(rng, cfg.fps)
    t_frames = sample_times(rng, 0.0, duration, fps, rng.uniform(0.0005, 0.003), 0.03)
    capture = live_capture(rng, atlas, cfg, duration, spec.challenge, w, h)
    look.light(capture.light)  # shared by the wall and any attack instrument in the room
    look.camera(capture, fps)
    look.person(capture.objects[0])
    imu_path: DevicePath | RigidPath = capture.path
    extra: dict[str, Any] = {}
    shift_ms = 0.0  # only a replayed IMU is shifted

    if spec.attack == "injection":
        # A genuine-looking video fed to the app; the phone's own sensors tell another story.
        if spec.variant == "rest":
            imu_path = resting_path(rng)
        elif spec.variant == "shifted":
            # A recorded genuine IMU (the capture's own) replayed late or early with the video.
            shift_ms = cs.shift_ms
        else:
            other = (
                spec.challenge if spec.variant == "same-direction" else str(rng.choice(CHALLENGES))
            )
            imu_path = sample_device_path(
                rng, FACE, rng.uniform(0.2, 0.4), other, rng.uniform(10, 25), duration
            )
    elif spec.attack in ("print", "replay"):
        capture, extra = attack_capture(rng, spec, atlas, cfg, duration, capture, look.person)
        imu_path = capture.path
    look.aim(capture.path)  # the filming phone's path: frames and a genuine IMU follow it
    # An electronic stabiliser: the image follows a steadier path than the sensors (imu_path
    # keeps the phone's own); each exposure is still smeared by the phone's real turn.
    shown = look.image_path(capture.path)
    if shown is not capture.path:
        capture.shake, capture.path = capture.path, shown

    frames = capture.frames(t_frames, rng)
    if spec.attack == "injection" and rng.random() < 0.7:
        frames = _reencode(frames, rng)

    t_origin = rng.uniform(1_000.0, 100_000.0)  # performance.now() has any origin
    imu = None
    if spec.has_imu:
        rate = draw(rng, cfg.imu_hz)
        t_imu = sample_times(
            rng,
            t_frames[0] - rng.uniform(0.02, 0.15),
            t_frames[-1] + rng.uniform(0.02, 0.15),
            rate,
            rng.uniform(0.0002, 0.002),
            0.02,
        )
        # The stamps span the frames; a reading stamped t is what the path did at t − lag: the
        # genuine clock offset (sensor stamps late, docs/CLOCK_OFFSET.md) plus any replay shift.
        lag_s = (cs.imu_offset_ms + shift_ms) / 1000.0
        gyro, acc = imu_from_pose(imu_path, t_imu - lag_s)
        gyro, acc = SensorModel.sample(rng).apply(gyro, acc, rng)
        imu = np.column_stack([t_origin + 1000 * t_imu, acc, gyro])
        extra.update(imu_hz=round(float(rate), 3), imu_offset_ms=round(cs.imu_offset_ms, 3))
        if spec.variant == "shifted":
            extra["imu_shift_ms"] = round(shift_ms, 3)
    quality = int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1))
    meta = {
        "label": "live" if spec.attack == "none" else "spoof",
        "attack": spec.attack,
        "subject": f"s{spec.subject:05d}",
        "variant": spec.variant,
        "challenge": spec.challenge,
        "generator": "liveness-synth",
        "seed": seed,
        "index": spec.index,
        "hfov_deg": round(float(capture.hfov), 3),
        "preset": cfg.preset,
        "fps": round(float(fps), 3),
        "jpeg_quality": quality,
        **look.meta(),
        **extra,
    }
    return Rendered(
        frames=frames,
        frame_t_ms=t_origin + 1000 * t_frames,
        imu=imu,
        meta=meta,
        jpeg_quality=quality,
    )


def _reencode(frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A virtual camera usually streams a re-encoded, often rescaled, earlier recording."""
    from io import BytesIO

    from PIL import Image

    scale = rng.uniform(0.5, 1.0)
    q = int(rng.integers(40, 85))
    out = []
    for f in frames:
        im = Image.fromarray(f)
        if scale < 0.95:
            small = im.resize(
                (max(8, int(f.shape[1] * scale)), max(8, int(f.shape[0] * scale))),
                Image.Resampling.BILINEAR,
            )
            im = small.resize((f.shape[1], f.shape[0]), Image.Resampling.BILINEAR)
        buf = BytesIO()
        im.save(buf, format="JPEG", quality=q)
        out.append(np.asarray(Image.open(buf).convert("RGB")))
    return np.stack(out)
