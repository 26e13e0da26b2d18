"""The policy gates' levels (liveness.gate_levels), each from the genuine captures it may refuse."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from liveness.gate_levels import SCENE_MIN_LEVEL, flat_level, scene_level
from liveness.motion import Relief


def test_flat_level_is_the_quantile_of_genuine_captures_with_sensors() -> None:
    """Only genuine captures with sensors and a measured cue count: attacks, captures without
    sensors (never gated) and unmeasured ones do not move the level."""
    pct = [0.1 * (k + 1) for k in range(100)]  # 0.1 .. 10 %
    s = {
        "relief": [Relief(p, 30, 12) for p in pct]
        + [Relief(0.01, 30, 12)] * 3
        + [Relief(float("nan"), 2, 12)],
        "is_live": [True] * 100 + [False, True, True, True],
        "has_imu": [True] * 100 + [True, False, True, True],
    }
    s["relief"][102] = None
    assert flat_level(s, 0.05) == pytest.approx(np.quantile(pct, 0.05))
    assert flat_level(s, 0.0) == pytest.approx(0.1)  # the flattest genuine capture
    with pytest.raises(ValueError, match="quantile"):
        flat_level(s, 0.7)
    s["has_imu"] = [False] * 104
    with pytest.raises(ValueError, match="measured"):
        flat_level(s, 0.01)


def test_scene_level_is_the_upper_quantile_of_genuine_captures_with_sensors() -> None:
    """The moving-scene gate's level: only genuine captures with sensors and a measured misfit
    count; none at all is an error, not a guess."""

    def a(m: float) -> SimpleNamespace:
        return SimpleNamespace(scene_misfit=m)

    scored = {
        "motion": [a(0.1), a(0.2), a(0.3), a(0.4), a(9.0), a(9.0), a(float("nan")), None],
        "is_live": np.array([True, True, True, True, False, True, True, True]),
        "has_imu": np.array([True, True, True, True, True, False, True, False]),
    }
    assert scene_level(scored, 0.0) == pytest.approx(0.4)
    assert scene_level(scored, 0.25) == pytest.approx(np.quantile([0.1, 0.2, 0.3, 0.4], 0.75))
    with pytest.raises(ValueError, match="share"):
        scene_level(scored, 0.5)
    # Genuine captures whose misfit is all tracker's noise (0 with the floor): the lowest
    # level, not 0, which would switch the gate off.
    still = {**scored, "motion": [a(0.0)] * 8}
    assert scene_level(still, 0.025) == SCENE_MIN_LEVEL > 0
    scored["is_live"][:] = False
    with pytest.raises(ValueError, match="genuine"):
        scene_level(scored, 0.05)
