"""The clock-offset search (liveness.motion.offsets): coarse beyond the genuine range, refined.

The coarse-to-fine search must find what scoring every step_ms finds: the same in-range score
(the genuine range is always scored at every step) and the same wide peak, so every finding
and status is unchanged. Checked on rig captures (tests/rig.py) with their own IMU and with it
replayed 60–400 ms early or late, where the wide peak is what decides.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from liveness.config import MotionConfig
from liveness.motion import compare, video_motion
from liveness.motion.inertial import gyro_angle
from liveness.motion.offsets import search, streams
from tests.rig import HFOV, capture

CFG = MotionConfig()
FINE = dataclasses.replace(CFG, wide_step_ms=CFG.step_ms)


@pytest.mark.parametrize("seed", [3, 7, 11])
def test_coarse_search_finds_the_fine_grids_peak(seed: int) -> None:
    frames, ft, imu = capture(seed, fps=12.0)
    vm = video_motion(frames, ft, CFG, hfov_deg=HFOV)
    for shift in (0.0, 60.0, -120.0, 150.0, -250.0, 400.0):
        moved = imu.copy()
        moved[:, 0] += shift
        a, b = compare(vm, moved, FINE), compare(vm, moved, CFG)
        assert (a.status, a.findings) == (b.status, b.findings), (shift, a, b)
        assert a.offset_ms == b.offset_ms and a.r == b.r  # the genuine range: scored alike
        assert abs(a.wide_r - b.wide_r) < 2e-3 and abs(a.score - b.score) < 2e-3, (shift, a, b)
        assert abs(a.wide_offset_ms - b.wide_offset_ms) <= 5 or abs(a.wide_r - b.wide_r) < 1e-3


def test_coarse_grid_scores_fewer_offsets_and_every_genuine_one() -> None:
    """Every step_ms inside ±offset_ms, every wide_step_ms beyond, plus the refined lobes: a
    fraction of the fine grid's 201 offsets, sorted, none twice."""
    frames, ft, imu = capture(4)
    vm = video_motion(frames, ft, CFG, hfov_deg=HFOV)
    st = streams(vm.t0_ms, vm.t1_ms, vm.rot, vm.conf > 0, vm.conf, gyro_angle(imu), None, CFG)
    taus = search(st, CFG).taus
    fine = search(st, FINE).taus
    assert len(fine) == 201 and len(taus) < 0.6 * len(fine)
    assert np.all(np.diff(taus) > 0) and set(taus) <= set(fine)
    near = fine[np.abs(fine) <= CFG.offset_ms]
    assert set(near) <= set(taus)
    assert {t for t in fine if t % CFG.wide_step_ms == 0} <= set(taus)
