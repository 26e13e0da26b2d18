"""A short soak (issue 6): concurrent clients against gunicorn, 0 errors, bounded RSS growth."""

from __future__ import annotations

import pytest

from .serverkit import load_bench


@pytest.mark.slow
def test_short_soak_has_no_errors_and_stable_memory() -> None:
    # The full run (16 clients, 60 s, < 5 % RSS growth) is bench/soak.py; results in
    # docs/HARDENING.md. Here: 4 clients, 3 s warm-up + 6 s, smaller frames, a loose memory bound.
    res = load_bench("soak").run_soak(
        clients=4, seconds=6.0, workers=2, clips=2, size=(96, 128), warmup=3.0, sample_every=2.0
    )
    assert res.errors == [], res.errors[:3]
    assert res.checks >= 8 and res.exit_code == 0
    assert set(res.rss_end_mb) == set(res.rss_start_mb) and len(res.rss_start_mb) == 2
    assert res.rss_growth_pct < 20.0, (res.rss_start_mb, res.rss_end_mb)
