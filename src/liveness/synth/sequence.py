"""Live captures of a person following a chosen motion-challenge sequence (e.g. left, then up)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from liveness.config import SynthConfig
from liveness.rotation import rotvec_to_matrix
from liveness.synth.atlas import Atlas, sample_atlas
from liveness.synth.capture import live_capture
from liveness.synth.clipgen import Rendered
from liveness.synth.settings import ClipSettings, draw, settings_rng
from liveness.synth.trajectory import (
    DevicePath,
    SensorModel,
    imu_from_pose,
    min_jerk,
    orbit_and_tilt,
    sample_times,
)

DIRECTIONS = ("left", "right", "up", "down")


@dataclass
class Move:
    """One step: an arc about the target (world rotvec) and an in-place tilt (device rotvec)."""

    orbit: np.ndarray
    tilt: np.ndarray
    t0: float
    t1: float


@dataclass
class SequencePath(DevicePath):
    """A DevicePath (its own orbit/tilt left at zero) followed by `moves`, one after another."""

    moves: list[Move] = field(default_factory=list)

    def pose(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = np.atleast_1d(np.asarray(t, dtype=np.float64))
        r, p = super().pose(t)
        for m in self.moves:
            s = min_jerk(t, m.t0, m.t1)[:, None]
            ro = rotvec_to_matrix(m.orbit[None] * s)  # (N, 3, 3) world
            rt = rotvec_to_matrix(m.tilt[None] * s)  # (N, 3, 3) device
            p = self.target + np.einsum("nij,nj->ni", ro, p - self.target)
            r = ro @ r @ rt
        return r, p


def move_for(direction: str, amp_rad: float, arc_share: float, t0: float, t1: float) -> Move:
    """The same decomposition as trajectory.sample_device_path: "left" turns the view about
    the vertical (device +y), "up" about the device +x axis."""
    if direction not in DIRECTIONS:
        raise ValueError(f"unknown direction {direction!r}")
    orbit, tilt = orbit_and_tilt(direction, amp_rad, arc_share)
    return Move(orbit, tilt, t0, t1)


def render_sequence(
    steps: Sequence[str],
    seed: int,
    cfg: SynthConfig | None = None,
    duration: float = 2.0,
    fps: float = 15.0,
    has_imu: bool = True,
    amplitude_deg: tuple[float, float] = (10.0, 20.0),
) -> Rendered:
    """A live capture of ~`duration` s in which the phone makes `steps` in turn (each step an
    amplitude drawn from `amplitude_deg`, with random timing slop, tremor and sway)."""
    cfg = cfg or SynthConfig()
    rng = np.random.default_rng([seed, 0x5E0])
    cs = ClipSettings.sample(cfg, settings_rng(seed, 0x5E0))  # size and clock offset
    atlas: Atlas = sample_atlas(np.random.default_rng([seed, 0xA7]))
    t_frames = sample_times(rng, 0.0, duration, fps, rng.uniform(0.0005, 0.003), 0.03)
    capture = live_capture(
        rng, atlas, cfg, duration, steps[0], cs.width, cs.height,
        amplitude=float(rng.uniform(*amplitude_deg)),
    )  # fmt: skip
    base = capture.path
    assert isinstance(base, DevicePath)
    # Steps share the clip evenly, each started a little late and ended a little early.
    slot = duration / len(steps)
    moves = []
    for k, d in enumerate(steps):
        t0 = k * slot + rng.uniform(0.0, 0.2) * slot
        t1 = (k + 1) * slot - rng.uniform(0.0, 0.2) * slot
        amp = np.radians(rng.uniform(*amplitude_deg))
        moves.append(move_for(d, amp, float(rng.uniform(0.4, 1.0)), t0, t1))
    path = SequencePath(
        target=base.target, eye=base.eye, up=base.up, roll=base.roll, aim=base.aim,
        push=0.0, rot_wobble=base.rot_wobble, pos_wobble=base.pos_wobble, moves=moves,
    )  # fmt: skip
    capture.path = path
    frames = capture.frames(t_frames, rng)
    t_origin = rng.uniform(1_000.0, 100_000.0)
    imu = None
    if has_imu:
        rate = draw(rng, cfg.imu_hz)
        t_imu = sample_times(
            rng, t_frames[0] - 0.05, t_frames[-1] + 0.05, rate, rng.uniform(0.0002, 0.002), 0.02
        )
        # Sensor stamps late by the genuine clock offset, as in clipgen.render_clip.
        gyro, acc = imu_from_pose(path, t_imu - cs.imu_offset_ms / 1000.0)
        gyro, acc = SensorModel.sample(rng).apply(gyro, acc, rng)
        imu = np.column_stack([t_origin + 1000 * t_imu, acc, gyro])
    meta = {"label": "live", "attack": "none", "challenge": "-".join(steps), "seed": seed}
    if has_imu:
        meta["imu_offset_ms"] = round(cs.imu_offset_ms, 3)
    return Rendered(frames, t_origin + 1000 * t_frames, imu, meta, jpeg_quality=90)
