"""Tests of the parity measures that gate every export."""

from __future__ import annotations

import numpy as np
import pytest

from liveness.config import LivenessConfig
from liveness.parity import Batch, parity

HALF = LivenessConfig(threshold=0.5)  # default fusion: the decision's score is the network's


def _batch(is_live: list[bool] | None) -> Batch:
    b = Batch.random(LivenessConfig(), n=4)
    if is_live is not None:
        b.is_live = np.array(is_live)
        b.attack = np.array(["none" if x else "print" for x in is_live])
    return b


def test_parity_by_hand() -> None:
    ref = np.array([0.9, 0.2, 0.6, 0.1])
    got = np.array([0.8, 0.2, 0.4, 0.1])  # |Δp| 0.1, 0, 0.2, 0; clip 3 flips at 0.5
    r = parity(ref, got, _batch([True, False, True, False]), HALF)
    assert r["max_abs_dp"] == pytest.approx(0.2) and r["mean_abs_dp"] == pytest.approx(0.075)
    assert r["verdict_flips"] == 1
    assert r["auc_torch"] == 1.0 and r["auc_export"] == 1.0 and r["delta_auc"] == 0.0
    # At 0.5 the export rejects live clip 3: BPCER 0.5, APCER 0 -> ACER 0.25 (torch: 0).
    assert r["acer_torch"] == 0.0 and r["delta_acer"] == pytest.approx(0.25)


def test_unlabelled_or_one_class_batches_report_no_auc() -> None:
    ref = got = np.array([0.9, 0.2, 0.6, 0.1])
    assert "delta_auc" not in parity(ref, got, _batch(None), HALF)
    assert "delta_auc" not in parity(ref, got, _batch([True] * 4), HALF)
    assert parity(ref, got, _batch(None), HALF)["inputs"] == "random tensors"


def test_verdicts_go_through_the_decision_path() -> None:
    """A clip whose phone rests while its video moves is refused on both sides whatever the
    scores, so it cannot count as a flip; without the agreement it would."""
    from liveness.motion import Agreement

    rest = Agreement("disagrees", 0.0, 0.0, 0.1, [0.0] * 3, 0.0, 0.0, 1.0, 9.0, 0.2, 0.0, 0.0,
                     1.0, ["video_moves_phone_rests"])  # fmt: skip
    ref, got = np.array([0.9, 0.2, 0.6, 0.1]), np.array([0.8, 0.2, 0.4, 0.1])
    b = _batch([True, False, True, False])
    b.present = np.array([True, True, True, True])
    b.motion = [None, None, rest, None]
    assert parity(ref, got, b, HALF)["verdict_flips"] == 0


def test_per_clip_measures_and_worst_clips_by_name() -> None:
    ref = np.linspace(0.05, 0.95, 100)
    got = ref.copy()
    got[[10, 60, 90]] += [0.02, -0.3, 0.01]  # clip 60 (p 0.595) falls to 0.295: flips at 0.5
    b = Batch.random(LivenessConfig(), n=100)
    b.names = [f"clips/{i:06d}" for i in range(100)]
    r = parity(ref, got, b, HALF)
    assert r["p50_abs_dp"] == 0.0 and r["max_abs_dp"] == pytest.approx(0.3)
    # 99th percentile of 100 values: between the 2nd largest (0.02) and the largest (0.3).
    assert r["p99_abs_dp"] == pytest.approx(0.02 + 0.01 * 0.28)
    assert r["verdict_flips"] == 1 and r["verdict_agreement"] == pytest.approx(0.99)
    worst = r["worst"]
    assert [w["clip"] for w in worst[:3]] == ["clips/000060", "clips/000010", "clips/000090"]
    assert worst[0]["live_torch"] and not worst[0]["live_export"]
    assert worst[0]["p_torch"] == pytest.approx(ref[60]) and len(worst) == 5


def test_worst_clips_list_every_flip_and_fall_back_to_indices() -> None:
    ref = np.full(20, 0.5)
    got = ref - np.linspace(0.0, 0.019, 20)  # every clip but the first flips below 0.5
    r = parity(ref, got, Batch.random(LivenessConfig(), n=20), HALF)
    assert r["verdict_flips"] == 19 and len(r["worst"]) == 19  # the top 5 flip too
    assert r["worst"][0]["clip"] == "#19"
