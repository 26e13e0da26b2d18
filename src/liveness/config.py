"""Configuration dataclasses: one source of truth, saved with every dataset, checkpoint, export."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

GRAVITY = 9.81  # m/s², the contract's g


@dataclass(frozen=True)
class PreprocessConfig:
    """What the model sees of a clip; used unchanged by the dataset, the CLI and the server.

    Frames: `num_frames` frames chosen by timestamp, the central square of side
    `crop_scale * min(W, H)` (where the page's face oval sits), resized to `image_size`².
    IMU: resampled to `imu_per_frame` samples per frame interval on the frames' time span,
    accelerometer divided by `acc_scale`, gyroscope by `gyro_scale`.
    """

    num_frames: int = 16
    image_size: int = 112
    crop_scale: float = 1.0
    imu_per_frame: int = 4
    acc_scale: float = GRAVITY
    gyro_scale: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PreprocessConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass(frozen=True)
class SynthConfig:
    """Parameters of the synthetic clip generator (`liveness synth`)."""

    width: int = 120  # render size in pixels, portrait; the model needs ~112² of the centre
    height: int = 160
    duration_s: tuple[float, float] = (1.8, 2.4)
    fps: tuple[float, float] = (10.0, 30.0)
    imu_hz: tuple[float, float] = (50.0, 100.0)
    hfov_deg: tuple[float, float] = (60.0, 70.0)
    # class mix: fractions of live / print / replay / injection
    mix: tuple[float, float, float, float] = (0.4, 0.2, 0.2, 0.2)
    no_imu_rate: float = 0.15  # every class also appears without imu.csv
    split: tuple[float, float, float] = (0.7, 0.15, 0.15)  # train/val/test, by subject
    clips_per_subject: int = 4
    jpeg_quality: tuple[int, int] = (70, 95)
    extras: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
