"""Tests of the ISO/IEC 30107-3 PAD metrics (liveness.metrics): hand-worked cases and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liveness.metrics import (
    acer,
    apcer_max,
    apcer_per_species,
    auc,
    bpcer,
    bpcer_at_apcer,
    calibrate_threshold,
    eer,
    roc_curve,
    summarize,
    wilson_interval,
)

# The worked example: live 0.9, 0.8, 0.3; print 0.7, 0.2; replay 0.1, 0.6.
S = np.array([0.9, 0.8, 0.3, 0.7, 0.2, 0.1, 0.6])
LIVE = np.array([True, True, True, False, False, False, False])
ATT = np.array(["none", "none", "none", "print", "print", "replay", "replay"])


def test_rates_at_threshold_by_hand() -> None:
    # print: 0.7 accepted, 0.2 rejected; replay: 0.6 accepted, 0.1 rejected; live 0.3 rejected.
    assert apcer_per_species(S, LIVE, ATT, 0.5) == {"print": 0.5, "replay": 0.5}
    assert bpcer(S, LIVE, 0.5) == pytest.approx(1 / 3)
    assert apcer_max(S, LIVE, ATT, 0.5) == 0.5
    assert acer(S, LIVE, ATT, 0.5) == pytest.approx((0.5 + 1 / 3) / 2)
    # At 0.65 only print's 0.7 gets through: the worst species (print, 1/2) drives ACER, not the
    # pooled APCER (1/4).
    assert apcer_per_species(S, LIVE, ATT, 0.65) == {"print": 0.5, "replay": 0.0}
    assert acer(S, LIVE, ATT, 0.65) == pytest.approx((0.5 + 1 / 3) / 2)


def test_score_equal_to_threshold_is_accepted() -> None:
    assert apcer_per_species(S, LIVE, ATT, 0.7)["print"] == 0.5  # 0.7 >= 0.7 accepted
    assert bpcer(S, LIVE, 0.3) == 0.0  # live 0.3 >= 0.3 accepted
    assert bpcer(S, LIVE, 0.30001) == pytest.approx(1 / 3)


def test_roc_curve_by_hand() -> None:
    t, ap, bp = roc_curve(S, LIVE)
    assert t[:-1] == pytest.approx([0.1, 0.2, 0.3, 0.6, 0.7, 0.8, 0.9])
    assert 0.9 < t[-1] < 0.9 + 1e-12  # just above the top score: rejects everything
    assert ap == pytest.approx([1, 0.75, 0.5, 0.5, 0.25, 0, 0, 0])
    assert bp == pytest.approx([0, 0, 0, 1 / 3, 1 / 3, 1 / 3, 2 / 3, 1])


def test_auc_by_hand() -> None:
    # 12 live/attack pairs: 0.9 and 0.8 beat all four attacks, 0.3 beats 0.2 and 0.1.
    assert auc(S, LIVE) == pytest.approx(10 / 12)


def test_eer_interpolated_by_hand() -> None:
    # APCER - BPCER goes 1/6 at t=0.6 to -1/12 at t=0.7: crossing 2/3 of the way along, where
    # APCER = 0.5 - (2/3) * 0.25 = 1/3 = BPCER.
    e, t = eer(S, LIVE)
    assert e == pytest.approx(1 / 3)
    assert t == pytest.approx(0.6 + (2 / 3) * 0.1)


def test_eer_exact_crossing_symmetric() -> None:
    # live 0.3, 0.7, 0.9 vs attack 0.1, 0.5, 0.8: at t=0.7 APCER = BPCER = 1/3 exactly.
    s = [0.3, 0.7, 0.9, 0.1, 0.5, 0.8]
    lv = [True, True, True, False, False, False]
    assert eer(s, lv) == pytest.approx((1 / 3, 0.7))


def test_bpcer_at_apcer_by_hand() -> None:
    # Any target below 1/2 needs both species at 0, i.e. a threshold above 0.7: 0.8, which
    # rejects the live 0.3. Pooled APCER would have allowed 0.7 for a 25% target.
    assert bpcer_at_apcer(S, LIVE, ATT, 0.01) == pytest.approx((1 / 3, 0.8))
    assert bpcer_at_apcer(S, LIVE, ATT, 0.25) == pytest.approx((1 / 3, 0.8))
    # 1/2 per species is first reached at t=0.3 (print 0.7; replay 0.6), and 0.3 keeps all live.
    assert bpcer_at_apcer(S, LIVE, ATT, 0.5) == pytest.approx((0.0, 0.3))
    assert bpcer_at_apcer(S, LIVE, ATT, 1.0) == pytest.approx((0.0, 0.1))


def test_calibrate_threshold_by_hand() -> None:
    assert calibrate_threshold(S, LIVE, ATT) == pytest.approx(0.8)  # rule apcer, 1%
    assert calibrate_threshold(S, LIVE, ATT, target=0.5) == pytest.approx(0.3)
    assert calibrate_threshold(S, LIVE, ATT, rule="eer") == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="unknown calibration rule"):
        calibrate_threshold(S, LIVE, ATT, rule="far")
    with pytest.raises(ValueError, match="target"):
        calibrate_threshold(S, LIVE, ATT, target=1.5)


def test_calibrate_resolution_with_50_attacks() -> None:
    # 50 print attacks: APCER moves in 2% steps, so a 1% target means none accepted (threshold
    # = the first score above the top attack), and a 2% target lets exactly the top one through.
    att_s = np.linspace(0.0, 0.49, 50)
    s = np.concatenate([np.linspace(0.6, 1.0, 20), att_s])
    lv = np.arange(70) < 20
    a = np.where(lv, "none", "print")
    assert calibrate_threshold(s, lv, a, target=0.01) == pytest.approx(0.6)
    assert calibrate_threshold(s, lv, a, target=0.019) == pytest.approx(0.6)
    assert calibrate_threshold(s, lv, a, target=0.02) == pytest.approx(0.49)
    assert apcer_max(s, lv, a, 0.49) == 0.02


def test_ties_count_half() -> None:
    assert auc([0.5, 0.5, 0.5, 0.5], [True, True, False, False]) == 0.5
    # live 0.5 ties attack 0.5 (1/2), beats 0.1; live 0.9 beats both: 3.5 / 4.
    assert auc([0.5, 0.9, 0.5, 0.1], [True, True, False, False]) == pytest.approx(0.875)
    e, t = eer([0.5, 0.5, 0.5, 0.5], [True, True, False, False])
    assert e == pytest.approx(0.5)
    assert t == pytest.approx(0.5)


def test_perfect_and_reversed() -> None:
    lv = [True, True, False, False]
    assert auc([0.8, 0.9, 0.1, 0.2], lv) == 1.0
    assert eer([0.8, 0.9, 0.1, 0.2], lv) == (0.0, 0.8)
    assert auc([0.1, 0.2, 0.8, 0.9], lv) == 0.0
    assert eer([0.1, 0.2, 0.8, 0.9], lv)[0] == 1.0


def test_errors_and_undefined() -> None:
    with pytest.raises(ValueError, match="NaN"):
        auc([0.1, float("nan")], [True, False])
    with pytest.raises(ValueError, match="no live"):
        bpcer([0.1, 0.2], [False, False], 0.5)
    with pytest.raises(ValueError, match="no live"):
        summarize([0.1, 0.2], [False, False], ["print", "replay"], 0.5)
    with pytest.raises(ValueError, match="no live"):
        eer([0.1, 0.2], [False, False])
    with pytest.raises(ValueError, match="entries"):
        bpcer([0.1, 0.2, 0.3], [True, False], 0.5)
    with pytest.raises(ValueError, match="disagrees"):
        apcer_per_species([0.1, 0.2], [True, False], ["print", "print"], 0.5)
    # No attacks: APCER-based metrics are undefined, not errors; absent species are absent.
    assert apcer_per_species([0.1, 0.9], [True, True], ["none", "none"], 0.5) == {}
    assert math.isnan(auc([0.1, 0.9], [True, True]))
    assert all(math.isnan(v) for v in eer([0.1, 0.9], [True, True]))
    assert math.isnan(acer([0.1, 0.9], [True, True], ["none", "none"], 0.5))


def test_summarize_with_imu_split() -> None:
    imu = np.array([True, False, True, True, False, False, False])
    out = summarize(S, LIVE, ATT, 0.5, has_imu=imu)
    assert out["n_live"] == 3 and out["n_attack"] == 4
    assert out["n_per_species"] == {"print": 2, "replay": 2}
    assert out["acer"] == pytest.approx(5 / 12)
    assert out["auc"] == pytest.approx(5 / 6)
    assert out["bpcer_at_apcer_1pct"] == pytest.approx(1 / 3)
    assert out["threshold_at_apcer_1pct"] == pytest.approx(0.8)
    w, wo = out["with_imu"], out["without_imu"]
    # with IMU: live 0.9, 0.3; print 0.7. without: live 0.8; print 0.2; replay 0.1, 0.6.
    assert w["apcer_per_species"] == {"print": 1.0}  # replay absent, not 0
    assert w["bpcer"] == 0.5
    assert wo["apcer_per_species"] == {"print": 0.0, "replay": 0.5}
    assert wo["bpcer"] == 0.0 and wo["n_live"] == 1
    # A subset with no live samples gives NaN metrics rather than an error.
    only_attacks = summarize(S, LIVE, ATT, 0.5, has_imu=~LIVE)["with_imu"]
    assert math.isnan(only_attacks["bpcer"]) and math.isnan(only_attacks["auc"])


def test_summary_intervals_hold_their_rates() -> None:
    # BPCER 1 of 3 (live 0.3 refused at 0.5), print 1 of 2 accepted, replay 1 of 2 accepted.
    out = summarize(S, LIVE, ATT, 0.5)
    assert out["bpcer_ci95"] == pytest.approx(list(wilson_interval(1, 3)))
    for sp, rate in out["apcer_per_species"].items():
        lo, hi = out["apcer_ci95_per_species"][sp]
        assert lo < rate < hi and [lo, hi] == pytest.approx(list(wilson_interval(1, 2)))


def test_wilson_interval_by_hand() -> None:
    z2 = 1.959963984540054**2
    # k = 0: the lower bound is 0 and the upper z²/(n + z²) (the quadratic's other root).
    lo, hi = wilson_interval(0, 24)
    assert lo == 0.0 and hi == pytest.approx(z2 / (24 + z2))
    # Both bounds solve (p̂ − π)² = z² π (1 − π) / n, the interval's definition.
    for k, n in ((3, 24), (11, 138), (1, 2), (50, 100)):
        for bound in wilson_interval(k, n):
            assert (k / n - bound) ** 2 == pytest.approx(z2 * bound * (1 - bound) / n)
    # Mirror: k of n refused is n − k of n accepted.
    lo, hi = wilson_interval(3, 24)
    assert (1 - hi, 1 - lo) == pytest.approx(wilson_interval(21, 24))
    assert 0.04 < lo < 0.05 and 0.30 < hi < 0.32  # 3 of 24 = 12.5 %: 4.3–31 %
    assert all(math.isnan(x) for x in wilson_interval(0, 0))
    with pytest.raises(ValueError):
        wilson_interval(5, 4)


# ---------------------------------------------------------------------------- properties

_score = st.one_of(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]), st.floats(0.0, 1.0))
_sample = st.tuples(_score, st.sampled_from(["none", "print", "replay", "injection"]))


@st.composite
def datasets(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """At least one live and one attack; scores drawn with many ties."""
    rows = draw(st.lists(_sample, min_size=0, max_size=30))
    rows += [(draw(_score), "none"), (draw(_score), draw(st.sampled_from(["print", "replay"])))]
    s = np.array([r[0] for r in rows])
    a = np.array([r[1] for r in rows])
    return s, a == "none", a


@settings(max_examples=150, deadline=None)
@given(datasets())
def test_auc_range_symmetry_and_roc_area(d: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    s, lv, _ = d
    value = auc(s, lv)
    assert 0.0 <= value <= 1.0
    assert auc(-s, lv) == pytest.approx(1.0 - value, abs=1e-12)
    # The trapezoid area under (APCER, 1 - BPCER) is the same probability.
    _, ap, bp = roc_curve(s, lv)
    x, y = ap[::-1], 1 - bp[::-1]
    assert float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2)) == pytest.approx(value, abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(datasets(), _score, _score)
def test_rates_monotone_in_threshold(
    d: tuple[np.ndarray, np.ndarray, np.ndarray], t1: float, t2: float
) -> None:
    s, lv, a = d
    lo, hi = min(t1, t2), max(t1, t2)
    ap_lo, ap_hi = apcer_per_species(s, lv, a, lo), apcer_per_species(s, lv, a, hi)
    assert all(ap_hi[sp] <= ap_lo[sp] for sp in ap_lo)
    assert bpcer(s, lv, lo) <= bpcer(s, lv, hi)
    _, ap, bp = roc_curve(s, lv)
    assert np.all(np.diff(ap) <= 0) and np.all(np.diff(bp) >= 0)
    assert (ap[0], bp[0], ap[-1], bp[-1]) == (1.0, 0.0, 0.0, 1.0)


@settings(max_examples=150, deadline=None)
@given(datasets())
def test_eer_lies_within_the_roc(d: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    s, lv, _ = d
    e, t = eer(s, lv)
    thr, ap, bp = roc_curve(s, lv)
    # Between the best point where one rate still dominates and the best worst-case point.
    assert np.max(np.minimum(ap, bp)) - 1e-12 <= e <= np.min(np.maximum(ap, bp)) + 1e-12
    assert thr[0] <= t <= thr[-1]


@settings(max_examples=150, deadline=None)
@given(datasets(), st.sampled_from([0.0, 0.01, 0.05, 0.2, 0.5]))
def test_bpcer_at_apcer_is_the_lowest_admissible_threshold(
    d: tuple[np.ndarray, np.ndarray, np.ndarray], target: float
) -> None:
    s, lv, a = d
    b, t = bpcer_at_apcer(s, lv, a, target)
    assert apcer_max(s, lv, a, t) <= target
    assert b == bpcer(s, lv, t)
    below = np.unique(s)[np.unique(s) < t]
    if len(below):  # the next candidate down breaks the target
        assert apcer_max(s, lv, a, float(below[-1])) > target
