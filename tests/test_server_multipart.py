"""Tests of the in-memory multipart parser against what clients actually send."""

from __future__ import annotations

import io

import pytest
from werkzeug.test import EnvironBuilder

from liveness.server.errors import ApiError
from liveness.server.multipart import boundary_of, parse_form


def _encode(boundary: str, parts: list[tuple[str, str | None, bytes]]) -> bytes:
    out = io.BytesIO()
    for name, filename, data in parts:
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out.write(f"--{boundary}\r\nContent-Disposition: {disp}\r\n".encode())
        if filename:
            out.write(b"Content-Type: image/jpeg\r\n")
        out.write(b"\r\n" + data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue()


def test_round_trip_of_werkzeug_encoded_bodies() -> None:
    """Werkzeug's test client (random boundaries, sometimes > 70 characters) and empty parts."""
    frames = [b"\xff\xd8\xff" + bytes(range(256)) * 4 + b"\r\n--x\r\n\r\n", b""]
    for _ in range(300):
        parts = [(io.BytesIO(d), f"{i}.jpg", "image/jpeg") for i, d in enumerate(frames)]
        env = EnvironBuilder(
            method="POST", data={"frames": parts, "imu": "[]"}, content_type="multipart/form-data"
        ).get_environ()
        form, files = parse_form(
            env["wsgi.input"].read(), boundary_of(env["CONTENT_TYPE"]), 10, 1000
        )
        assert [f.read() for f in files.getlist("frames")] == frames
        assert [f.mimetype for f in files.getlist("frames")] == ["image/jpeg"] * 2
        assert form["imu"] == "[]"


def test_long_boundary_like_browsers_and_werkzeug() -> None:
    b = "-" * 15 + "WerkzeugFormPart_1795708542.38966940.0008924551031044281"  # 72 chars
    form, _ = parse_form(_encode(b, [("imu", None, b"[]")]), boundary_of(f'x; boundary="{b}"'),
                         5, 100)  # fmt: skip
    assert form["imu"] == "[]"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\nX: 1\r2\r\n\r\nv\r\n--B--\r\n",
         400, "unusable header line"),
        (b"--B\r\nContent-Disposition: form-data\r\n\r\nv\r\n--B--\r\n", 400, "name=..."),
        (b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv", 400, "not terminated"),
        (b"--B\r\nno colon here\r\n\r\nv\r\n--B--\r\n", 400, "is not 'Name: value'"),
        (b"--BContent-Disposition: x\r\n\r\nv\r\n--B--\r\n", 400, "no line break"),
        (b"garbage", 400, "does not occur"),
        (_encode("B", [("a", None, b"x")] * 6), 413, "more than 5 parts"),
        (_encode("B", [("a", None, b"x" * 101)]), 413, "exceeds 100 bytes"),
        (_encode("B", [("a", None, b"\xff\xfe")]), 400, "not UTF-8"),
    ],
)  # fmt: skip
def test_malformed_bodies_are_clear_4xx(body: bytes, status: int, message: str) -> None:
    with pytest.raises(ApiError) as e:
        parse_form(body, b"B", 5, 100)
    assert e.value.status == status and message in e.value.message


def test_empty_body_and_bad_boundaries() -> None:
    assert parse_form(b"", b"B", 5, 100) == ({}, {})
    for ctype in ("multipart/form-data", 'multipart/form-data; boundary=""',
                  "multipart/form-data; boundary=" + "x" * 201):  # fmt: skip
        with pytest.raises(ApiError, match="boundary"):
            boundary_of(ctype)
