"""Parsing of the check form's JSON fields: numbers only, NaN kept for validate_clip to name."""

from __future__ import annotations

import math

import numpy as np
import pytest

from liveness.clip import ClipError
from liveness.server.errors import ApiError
from liveness.server.payload import clip_error, parse_imu, parse_times


def test_times() -> None:
    assert parse_times("[1, 2.5, 4]", 3).tolist() == [1.0, 2.5, 4.0]
    t = parse_times("[1, null, NaN]", 3)
    assert t[0] == 1 and math.isnan(t[1]) and math.isnan(t[2])
    for text, n in (("[true, 2]", 2), ('["1", 2]', 2), ("{}", 0), ("[1]", 2), ("[[1]]", 1)):
        with pytest.raises(ApiError) as e:
            parse_times(text, n)
        assert e.value.status == 400
    with pytest.raises(ApiError) as e:
        parse_times(None, 3)
    assert e.value.code == "missing_field"


def test_imu() -> None:
    assert (
        parse_imu(None, 10) is None and parse_imu("[]", 10) is None and parse_imu(" ", 10) is None
    )
    rows = parse_imu("[[0, 0, 9.81, 0, 0.1, 0, 0], [10, 0, 9.8, 0, 0, Infinity, 0]]", 10)
    assert rows is not None and rows.shape == (2, 7) and np.isinf(rows[1, 5])
    with pytest.raises(ApiError) as e:
        parse_imu("[" + ",".join(["[0,0,0,0,0,0,0]"] * 11) + "]", 10)
    assert e.value.status == 413
    with pytest.raises(ApiError) as e:
        parse_imu("[" * 100_000 + "]" * 100_000, 10)  # deep nesting is malformed, not a crash
    assert e.value.status == 400


def test_clip_error_codes() -> None:
    assert clip_error(ClipError("upload/imu.csv: row 3: gx is NaN")).code == "imu_unusable"
    assert clip_error(ClipError("upload/frames.csv: row 2: t_ms 1 is not after")).code == (
        "bad_timestamps"
    )
    assert clip_error(ClipError("upload/frames.csv: 3 frames, need 8..900")).code == (
        "too_few_frames"
    )
    err = clip_error(ClipError("upload/frames: frame size"))
    assert err.status == 422 and err.code == "invalid_clip" and "upload/" not in err.message
