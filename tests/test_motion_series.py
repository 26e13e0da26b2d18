"""Weighted statistics over per-interval series (liveness.motion.series)."""

from __future__ import annotations

import numpy as np

from liveness.motion.series import axis_mix, fisher_z, rms_deg_s, smoother, wcorr, wsum


def test_wsum_is_the_weighted_sum_over_intervals() -> None:
    rng = np.random.default_rng(0)
    w, x = rng.random((7, 30)), rng.standard_normal((7, 30, 3))
    np.testing.assert_allclose(wsum(w, x), np.einsum("ok,okj->oj", w, x), rtol=1e-12)
    np.testing.assert_allclose(wsum(w[0], x), np.einsum("k,okj->oj", w[0], x), rtol=1e-12)


def test_wcorr_signs_scale_and_weights() -> None:
    rng = np.random.default_rng(1)
    a = rng.standard_normal((30, 3))
    w = np.ones(30)
    np.testing.assert_allclose(wcorr(a, 2.0 * a + 1.0, w), 1.0)
    np.testing.assert_allclose(wcorr(a, -a, w), -1.0)
    assert np.all(wcorr(a, np.zeros_like(a), w) == 0.0)  # a flat side correlates with nothing
    b = a.copy()
    b[5] += 50.0  # one wild interval, weighted out
    w[5] = 0.0
    np.testing.assert_allclose(wcorr(a, b, w), 1.0)


def test_smoother_ignores_unmeasured_intervals() -> None:
    tm = np.arange(20) * 70.0
    use = np.ones(20, bool)
    use[10] = False
    s = smoother(tm, 120.0, use)
    np.testing.assert_allclose(s.sum(1), 1.0)
    assert np.all(s[:, 10] == 0.0)
    x = np.ones((20, 3))
    x[10] = 99.0  # garbage where the video measured nothing: no neighbour's fast part sees it
    fast = x - s @ x
    np.testing.assert_allclose(np.delete(fast, 10, axis=0), 0.0, atol=1e-12)


def test_axis_mix_and_rms() -> None:
    k = np.arange(40)
    g = np.stack([np.sin(k / 3.0), 0.1 * np.cos(k / 5.0), np.zeros(40)], -1)
    mix = axis_mix(g, np.ones(40))
    np.testing.assert_allclose(mix.sum(), 1.0)
    assert mix[0] > 0.9 and mix[2] == 0.0
    rot = np.tile(np.radians([0.0, 1.0, 0.0]), (10, 1))  # 1° per 100 ms interval
    np.testing.assert_allclose(rms_deg_s(rot, np.full(10, 100.0), np.ones(10)), 10.0)


def test_fisher_z_stretches_high_correlations_and_stays_finite() -> None:
    """The same 0.03 of r is a large step near 1 and a small one near 0.7 (why the offset
    finding is judged on z); r = ±1 stays finite."""
    assert float(fisher_z(0.98) - fisher_z(0.95)) > 3 * float(fisher_z(0.71) - fisher_z(0.68))
    np.testing.assert_allclose(fisher_z(np.array([-0.5, 0.0, 0.5])), np.arctanh([-0.5, 0, 0.5]))
    z = fisher_z(np.array([-1.0, 1.0]))
    assert np.all(np.isfinite(z)) and -z[0] == z[1] > 3.5
