"""Parsing of the check form's JSON fields: numbers only, NaN kept for validate_clip to name."""

from __future__ import annotations

import math

import numpy as np
import pytest

from liveness.clip import ClipError
from liveness.server.errors import ApiError
from liveness.server.payload import clip_error, decode_into, parse_imu, parse_times


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


def _jpeg(value: int) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.full((16, 12, 3), value, np.uint8)).save(buf, "JPEG", quality=95)
    return buf.getvalue()


@pytest.mark.parametrize("bad", [(), (3,), (3, 6), (4, 7), (8,), (0, 1)])
def test_frames_decode_on_two_threads_as_on_one(bad: tuple[int, ...]) -> None:
    """Two threads take frames from one queue: the same pixels in the same places, and a
    corrupt frame is named by the lowest failing index, whichever thread met it first."""
    heads = [(_jpeg(20 * k), "JPEG", "RGB") for k in range(9)]
    for k in bad:
        heads[k] = (heads[k][0][: len(heads[k][0]) // 3], "JPEG", "RGB")
    out = np.zeros((9, 16, 12, 3), np.uint8)
    if not bad:
        decode_into(out, heads, range(9))
        assert [int(np.round(out[k].mean())) for k in range(9)] == [20 * k for k in range(9)]
        return
    with pytest.raises(ApiError) as e:
        decode_into(out, heads, range(9))
    assert e.value.code == "bad_frame" and e.value.message.startswith(f"frame {min(bad)}:")


def test_a_busy_side_thread_never_holds_up_a_decode() -> None:
    """The request thread takes every frame itself when the side thread is busy elsewhere (or
    when overlap is off): nothing waits behind other work, and the pixels are the same."""
    import threading

    from liveness.server.payload import _decoder

    heads = [(_jpeg(20 * k), "JPEG", "RGB") for k in range(9)]
    release = threading.Event()
    blocker = _decoder().submit(release.wait, 30)  # the side thread is busy until released
    try:
        for overlap in (True, False):
            out = np.zeros((9, 16, 12, 3), np.uint8)
            decode_into(out, heads, range(9), overlap)  # returns although the side is busy
            assert [int(np.round(out[k].mean())) for k in range(9)] == [20 * k for k in range(9)]
    finally:
        release.set()
        blocker.result()
