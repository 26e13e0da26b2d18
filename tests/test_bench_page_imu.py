"""bench/page_imu.py: the IMU resampled as a page's devicemotion events carry it."""

from __future__ import annotations

import numpy as np

from .serverkit import load_bench


def test_page_sampling_holds_readings_it_has_and_never_one_from_the_future() -> None:
    page_sampled = load_bench("page_imu").page_sampled
    t = np.arange(0.0, 2000.0, 1000.0 / 73)  # a 73 Hz sensor: faster than the page's events
    imu = np.column_stack([t, t + 0.1, t + 0.2, t + 0.3, t + 0.4, t + 0.5, t + 0.6])
    for seed in range(5):
        out = page_sampled(imu, np.random.default_rng(seed), rate_hz=60.0, jitter_ms=0.5)
        te = out[:, 0]
        assert abs(np.median(np.diff(te)) - 1000.0 / 60) < 0.5 and np.all(np.diff(te) > 0)
        assert abs(len(out) - 2000.0 / (1000.0 / 60)) <= 2
        t_acc, t_gyro = out[:, 1] - 0.1, out[:, 4] - 0.4  # which reading each event carries
        assert np.all(np.isin(t_acc, t)) and np.all(np.isin(t_gyro, t))  # held, not interpolated
        assert np.all(t_acc <= te) and np.all(t_gyro <= te)  # arrived before the event
        # ... the latest one: at most one sensor period plus the arrival delays stale
        assert np.all(te - t_acc < 1000.0 / 73 + 3.0 + 2.0)
        assert np.all(te - t_gyro < 2 * 1000.0 / 73 + 3.0 + 2.0)
        assert np.allclose(out[:, 2:4] - out[:, 1:2], [0.1, 0.2])  # a row's axes stay together
        assert len(np.unique(t_acc)) < len(t)  # at 73 Hz into 60 Hz some readings are skipped


def test_thinning_keeps_readings_at_their_own_stamps_at_most_at_the_rate() -> None:
    thinned = load_bench("page_imu").thinned
    t = np.cumsum(np.r_[0.0, np.full(400, 1000.0 / 190)])  # a 190 Hz sensor
    imu = np.column_stack([t] + [np.sin(t / (50 + 10 * j)) for j in range(6)])
    out = thinned(imu, 60.0)
    assert np.all(np.diff(out[:, 0]) >= 1000.0 / 60 - 1e-6)
    assert np.all(np.diff(out[:, 0]) < 1000.0 / 60 + 1000.0 / 190)  # the next one that is due
    rows = {tuple(r) for r in imu}
    assert all(tuple(r) in rows for r in out)  # rows as recorded, none interpolated
