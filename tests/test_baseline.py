"""The motion agreement alone as a detector (liveness.baseline): AUC and its two features."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from liveness.baseline import FEATURES, auc, clip_features, planarity
from liveness.clip import Clip, write_clip
from liveness.motion import VideoMotion
from tests.rig import capture


def test_auc_perfect_and_reversed() -> None:
    assert auc(np.array([3.0, 4.0, 5.0]), np.array([0.0, 1.0, 2.0])) == 1.0
    assert auc(np.array([0.0, 1.0]), np.array([2.0, 3.0, 4.0])) == 0.0


def test_auc_all_ties_is_half() -> None:
    assert auc(np.array([1.0, 1.0]), np.array([1.0, 1.0, 1.0])) == 0.5


def test_auc_mixed_by_hand() -> None:
    # Pairs won by each positive: 0.8 beats both, 0.4 beats 0.3 only, 0.6 beats both: 5 of 6.
    assert math.isclose(auc(np.array([0.8, 0.4, 0.6]), np.array([0.5, 0.3])), 5 / 6)
    # With a tie counted half: (0.5 vs 0.5) ½ + 1 + 1 + 1 = 3.5 of 4.
    assert math.isclose(auc(np.array([0.5, 0.9]), np.array([0.5, 0.1])), 0.875)
    # Order of the inputs does not matter; swapping classes gives 1 − AUC.
    assert math.isclose(auc(np.array([0.6, 0.8, 0.4]), np.array([0.3, 0.5])), 5 / 6)
    assert math.isclose(auc(np.array([0.5, 0.3]), np.array([0.8, 0.4, 0.6])), 1 / 6)


def test_auc_empty_is_nan() -> None:
    assert math.isnan(auc(np.array([]), np.array([1.0])))
    assert math.isnan(auc(np.array([1.0]), np.array([])))


def test_motion_feature_separates_own_from_foreign_gyro(tmp_path: Path) -> None:
    frames, t, imu = capture(21)
    own, a_own = clip_features(write_clip(tmp_path / "own", Clip(frames, t, imu, {})))
    other = capture(22)[2]
    foreign, a_other = clip_features(write_clip(tmp_path / "other", Clip(frames, t, other, {})))
    assert a_own.status == "agrees" and a_other.status == "disagrees"
    assert own["motion"] < 0.3 < foreign["motion"]
    # The same video under its own IMU replayed 150 / 300 ms late is not accepted.
    assert own["replay_150"] == 0.0 and own["replay_300"] == 0.0


def test_no_imu_gives_nan_motion(tmp_path: Path) -> None:
    frames, t, _ = capture(23)
    feats, a = clip_features(write_clip(tmp_path / "c", Clip(frames, t, None, {})))
    assert math.isnan(feats["motion"]) and math.isfinite(feats["planarity"])
    assert a.status == "no_sensors" and set(feats) == set(FEATURES)  # no replays without IMU


def _two_planes(split: bool) -> VideoMotion:
    """Tracks in the face oval: one rigid shift, or its two halves moving apart (not one plane)."""
    rng = np.random.default_rng(0)
    a = rng.uniform([60, 100], [180, 220], (80, 2))
    shift = np.where((a[:, :1] < 120) & split, [1.5, 0.0], [-1.5, 0.0]) if split else [1.0, 0.5]
    z = np.zeros((1, 3))
    return VideoMotion(np.zeros(1), np.ones(1), z, np.ones(1), z, np.ones(1), 190.0, (240, 320),
                       (120.0, 160.0, 72.0, 96.0), [(a, a + shift)])  # fmt: skip


def test_planarity_is_zero_for_one_plane_and_negative_for_two() -> None:
    assert planarity(_two_planes(False)) > -1e-3
    assert planarity(_two_planes(True)) < -0.1
