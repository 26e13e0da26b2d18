"""Fuzzing (issue 6): payload and clip parsers under hypothesis, the API under schemathesis.

Every generated input must end in a clean ApiError/ClipError (a 4xx with a message), never
another exception or a 5xx. Example counts are small for CI; bench/fuzz_api.py runs the same
properties with LIVENESS_FUZZ_EXAMPLES=1000 and a full schemathesis run.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liveness.clip import Clip, ClipError, read_clip, validate_clip, write_clip
from liveness.predict import Predictor
from liveness.server.app import create_app
from liveness.server.errors import ApiError
from liveness.server.payload import parse_imu, parse_times
from liveness.server.settings import ServerSettings

from .serverkit import encode, load_bench, predictor  # noqa: F401 - fixture

EXAMPLES = int(os.environ.get("LIVENESS_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=EXAMPLES <= 100,  # CI: the same inputs every run
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.none(),
)
json_values = st.recursive(
    st.one_of(numbers, st.booleans(), st.text(max_size=8)),
    lambda inner: st.lists(inner, max_size=8) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=40,
)
imu_rows = st.lists(st.lists(numbers, min_size=6, max_size=8), max_size=40)
json_texts = st.one_of(
    st.text(max_size=60),
    json_values.map(json.dumps),
    imu_rows.map(json.dumps),
    st.lists(numbers, max_size=20).map(json.dumps),
)


@FUZZ
@given(text=st.one_of(st.none(), json_texts), n=st.integers(0, 20))
def test_parse_times_only_raises_api_errors(text: str | None, n: int) -> None:
    try:
        t = parse_times(text, n)
    except ApiError as e:
        assert e.status == 400 and e.message
        return
    assert t.shape == (n,) and t.dtype == np.float64


@FUZZ
@given(text=st.one_of(st.none(), json_texts), limit=st.integers(1, 50))
def test_parse_imu_only_raises_api_errors(text: str | None, limit: int) -> None:
    try:
        imu = parse_imu(text, limit)
    except ApiError as e:
        assert e.status in (400, 413) and e.message
        return
    assert imu is None or (imu.ndim == 2 and imu.shape[1] == 7 and 0 < len(imu) <= limit)


# -- whole uploads through the Flask app ----------------------------------------------------

_rng = np.random.default_rng(0)
TILE = _rng.integers(0, 255, (24, 16, 3), dtype=np.uint8)
JPEG, PNG = encode(TILE), encode(TILE, "PNG")
frame_bytes = st.one_of(
    st.just(JPEG),
    st.just(PNG),
    st.integers(1, len(JPEG) - 1).map(lambda k: JPEG[:k]),
    st.integers(1, len(PNG) - 1).map(lambda k: PNG[:k]),
    st.binary(max_size=64),
    st.binary(max_size=32).map(lambda b: b"\xff\xd8\xff" + b),
)
ctypes = st.sampled_from(["image/jpeg", "image/png", "image/gif", "text/plain", None])
frame_parts = st.tuples(st.just("frames"), ctypes, frame_bytes)
text_parts = st.tuples(
    st.sampled_from(["frames_t_ms", "imu", "note", ""]), st.none(), json_texts.map(str.encode)
)


@st.composite
def near_valid(draw: st.DrawFn) -> list[tuple[str, str | None, bytes]]:
    """8-12 real frames with jittered times and IMU: reaches decoding and clip validation."""
    n = draw(st.integers(8, 12))
    step = draw(st.sampled_from([66.7, 0.0667, 66_700.0, 0.0, -66.7]))
    t = [i * step + draw(st.floats(-5, 5)) for i in range(n)]
    parts = [("frames", draw(st.sampled_from(["image/jpeg", "image/png"])), JPEG) for _ in range(n)]
    fixed = [(name, ctype, PNG if ctype == "image/png" else data) for name, ctype, data in parts]
    imu = [[i * 10.0 + draw(st.sampled_from([0.0, 1.0, -1e9])), 0, 9.81, 0, 0, 0.3, 0]
           for i in range(draw(st.integers(0, 80)))]  # fmt: skip
    extra = draw(st.lists(st.one_of(frame_parts, text_parts), max_size=2))
    return [*fixed, ("frames_t_ms", None, json.dumps(t).encode()),
            ("imu", None, json.dumps(imu).encode()), *extra]  # fmt: skip


def multipart_body(parts: list[tuple[str, str | None, bytes]]) -> bytes:
    out = io.BytesIO()
    for k, (name, ctype, data) in enumerate(parts):
        filename = f'; filename="{k}.jpg"' if name == "frames" else ""
        head = f'--fuzz\r\nContent-Disposition: form-data; name="{name}"{filename}\r\n'
        head += f"Content-Type: {ctype}\r\n" if ctype else ""
        out.write(head.encode() + b"\r\n" + data + b"\r\n")
    return out.getvalue() + b"--fuzz--\r\n"


@pytest.fixture(scope="module")
def fuzz_app(predictor: Predictor) -> Iterator[Flask]:  # noqa: F811
    d = Path(tempfile.mkdtemp(prefix="liveness-fuzz-"))
    app = create_app(ServerSettings(sessions_url=f"sqlite:///{d / 's.sqlite3'}", rate_limit=0),
                     predictor)  # fmt: skip
    yield app
    shutil.rmtree(d, ignore_errors=True)


@FUZZ
@given(
    parts=st.one_of(near_valid(), st.lists(st.one_of(frame_parts, text_parts), max_size=14)),
    ctype=st.sampled_from(["multipart/form-data; boundary=fuzz"] * 4 + ["application/json"]),
)
def test_check_uploads_are_4xx_or_a_verdict(
    fuzz_app: Flask, parts: list[tuple[str, str | None, bytes]], ctype: str
) -> None:
    c = fuzz_app.test_client()
    sid = c.post("/api/v1/sessions").get_json()["session_id"]
    r = c.post(f"/api/v1/sessions/{sid}/check", data=multipart_body(parts), content_type=ctype)
    body = r.get_json()
    assert r.status_code == 200 or 400 <= r.status_code < 500, body
    if r.status_code != 200:
        assert set(body) == {"error"} and body["error"]["code"] and body["error"]["message"]


# -- clip directories and arrays --------------------------------------------------------------


@pytest.fixture(scope="module")
def clip_dir() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="liveness-clipfuzz-"))
    t = np.arange(8) * 66.7
    imu_t = np.arange(0, 480, 10.0)
    imu = np.zeros((len(imu_t), 7))
    imu[:, 0], imu[:, 2] = imu_t, 9.81
    write_clip(d / "clip", Clip(np.repeat(TILE[None], 8, 0), t, imu, {"label": "live"}))
    yield d / "clip"
    shutil.rmtree(d, ignore_errors=True)


mutation = st.tuples(
    st.sampled_from(["frames.csv", "imu.csv", "meta.json", "frames/00000.jpg", "frames/00007.jpg"]),
    st.sampled_from(["delete", "truncate", "garbage", "append", "replace_cell", "rename"]),
    st.binary(max_size=24),
    st.integers(0, 400),
)


def _mutate(root: Path, target: str, how: str, junk: bytes, k: int) -> None:
    p = root / target
    if not p.exists():
        return
    data = p.read_bytes()
    if how == "delete":
        p.unlink()
    elif how == "truncate":
        p.write_bytes(data[: k % (len(data) + 1)])
    elif how == "garbage":
        p.write_bytes(junk)
    elif how == "append":
        p.write_bytes(data + b"\n" + junk.replace(b"\n", b","))
    elif how == "replace_cell":
        lines = data.split(b"\n")
        row = lines[k % len(lines)].split(b",")
        row[k % len(row)] = junk.replace(b"\n", b"").replace(b",", b"") or b"nan"
        lines[k % len(lines)] = b",".join(row)
        p.write_bytes(b"\n".join(lines))
    else:
        p.rename(p.with_name(f"{k:05d}{p.suffix}"))


@FUZZ
@given(mutations=st.lists(mutation, min_size=1, max_size=3))
def test_read_clip_only_raises_clip_errors(
    clip_dir: Path, mutations: list[tuple[str, str, bytes, int]]
) -> None:
    with tempfile.TemporaryDirectory() as d:
        root = Path(shutil.copytree(clip_dir, Path(d) / "clip"))
        for m in mutations:
            _mutate(root, *m)
        try:
            clip = read_clip(root)
        except ClipError as e:
            assert str(e)
            return
        assert clip.num_frames >= 8


arrays = st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), max_size=40)


@FUZZ
@given(t=arrays, imu=st.one_of(st.none(), arrays), cols=st.integers(5, 8), n=st.integers(7, 10))
def test_validate_clip_only_raises_clip_errors(
    t: list[float], imu: list[float] | None, cols: int, n: int
) -> None:
    frames = np.zeros((n, 4, 4, 3), np.uint8)
    rows = None if imu is None else np.array(imu[: len(imu) // cols * cols]).reshape(-1, cols)
    try:
        validate_clip(Clip(frames, np.array(t[:n]), rows))
    except ClipError as e:
        assert str(e)


# -- schemathesis over the OpenAPI document (bounded; the full run is bench/fuzz_api.py) --------


def test_schemathesis_bounded(fuzz_app: Flask) -> None:
    summary = load_bench("fuzz_api").run_schemathesis(fuzz_app, cases=240, seed=6)
    assert summary.cases >= 200
    assert summary.server_errors == [] and summary.violations == []
    statuses = {s for (op, s) in summary.statuses if op.endswith("/check")}
    assert {400, 404} <= statuses  # generated checks reached live sessions and the parser
