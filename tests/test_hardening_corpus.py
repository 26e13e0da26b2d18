"""Hand-made malformed uploads (issue 6): each gets its exact 4xx, error code and clear message."""

from __future__ import annotations

import io
import json
import re
import struct
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from flask import Flask

from liveness.clip import Clip

from .serverkit import encode, live_clip, predictor  # noqa: F401 - fixture
from .test_server_app import AppFactory, assert_error, check, make_app, new_session  # noqa: F401

Parts = list[tuple[str, str | None, str | None, bytes]]  # name, filename, content type, bytes
BOUNDARY = "corpus-boundary"


@pytest.fixture(scope="module")
def clip() -> Clip:
    return live_clip(("left",))


def parts_of(clip: Clip, fmt: str = "JPEG") -> Parts:
    mime = "image/png" if fmt == "PNG" else "image/jpeg"
    out: Parts = [("frames", f"{i}.jpg", mime, encode(f, fmt)) for i, f in enumerate(clip.frames)]
    out.append(("frames_t_ms", None, None, json.dumps(clip.frame_t_ms.tolist()).encode()))
    assert clip.imu is not None
    out.append(("imu", None, None, json.dumps(clip.imu.tolist()).encode()))
    return out


def body_of(parts: Parts, boundary: str = BOUNDARY) -> bytes:
    out = io.BytesIO()
    for name, filename, ctype, data in parts:
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        head = f"--{boundary}\r\nContent-Disposition: {disp}\r\n"
        head += f"Content-Type: {ctype}\r\n" if ctype else ""
        out.write(head.encode() + b"\r\n" + data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue()


def png_declaring(w: int, h: int) -> bytes:
    """A tiny PNG whose header claims w x h pixels (a decompression bomb's calling card)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def jpeg_declaring(jpeg: bytes, w: int, h: int) -> bytes:
    """The same JPEG with its frame header (SOF0) patched to claim w x h pixels."""
    k = jpeg.index(b"\xff\xc0")
    return jpeg[: k + 5] + struct.pack(">HH", h, w) + jpeg[k + 9 :]


def set_frames(frames: list[tuple[str, bytes]]) -> Callable[[Parts], Parts]:
    """Replace every frame part by (content type, bytes) items (timestamps kept consistent)."""

    def edit(p: Parts) -> Parts:
        rest = [x for x in p if x[0] != "frames"]
        t = json.dumps([66.7 * i for i in range(len(frames))]).encode()
        rest = [("frames_t_ms", None, None, t) if x[0] == "frames_t_ms" else x for x in rest]
        new: Parts = [("frames", f"{i}.img", c, d) for i, (c, d) in enumerate(frames)]
        return new + [x for x in rest if x[0] != "imu"]

    return edit


def frame(
    k: int, fn: Callable[[bytes], bytes], ctype: str | None = None
) -> Callable[[Parts], Parts]:
    """Change frame k's bytes (and optionally its declared content type)."""

    def edit(p: Parts) -> Parts:
        idx = [i for i, x in enumerate(p) if x[0] == "frames"][k]
        name, filename, c, data = p[idx]
        return [*p[:idx], (name, filename, ctype or c, fn(data)), *p[idx + 1 :]]

    return edit


def field(name: str, fn: Callable[[Any], Any]) -> Callable[[Parts], Parts]:
    """Change a JSON text field: fn gets the parsed value and returns the new value or bytes."""

    def edit(p: Parts) -> Parts:
        out: Parts = []
        for n, f, c, data in p:
            if n == name:
                new = fn(json.loads(data))
                data = new if isinstance(new, bytes) else json.dumps(new).encode()
            out.append((n, f, c, data))
        return out

    return edit


def imu_cols(cols: slice, factor: float) -> Callable[[Parts], Parts]:
    return field("imu", lambda rows: (lambda a: (a.__setitem__((slice(None), cols), a[:, cols]
                                                               * factor), a)[1].tolist())(
        np.array(rows)))  # fmt: skip


def swap_rows(i: int, j: int) -> Callable[[Any], Any]:
    def fn(v: list[Any]) -> list[Any]:
        v[i], v[j] = v[j], v[i]
        return v

    return fn


def set_item(i: int, value: Any) -> Callable[[Any], Any]:
    def fn(v: list[Any]) -> list[Any]:
        v[i] = value
        return v

    return fn


def times_scaled(factor: float) -> Callable[[Any], Any]:
    return lambda v: [x * factor for x in v]


def imu_times_scaled(factor: float) -> Callable[[Any], Any]:
    return lambda rows: [[r[0] * factor, *r[1:]] for r in rows]


def drop(name: str) -> Callable[[Parts], Parts]:
    return lambda p: [x for x in p if x[0] != name]


def doubled(p: Parts) -> Parts:
    """Every frame sent twice with the same timestamp (a stuttering or padded capture)."""
    frames = [x for x in p if x[0] == "frames"][:16]
    t = json.loads(next(x[3] for x in p if x[0] == "frames_t_ms"))[:16]
    twice = [f for f in frames for _ in range(2)]
    return [
        *twice,
        ("frames_t_ms", None, None, json.dumps([x for x in t for _ in range(2)]).encode()),
    ]


GRAY = np.full((64, 48, 3), 128, dtype=np.uint8)
# (id, edit of the parts, status, code, regex the message must match)
CORPUS: list[tuple[str, Callable[[Parts], Parts], int, str, str]] = [
    # Images: truncated, lying about their type, bombs, empty parts.
    ("truncated_jpeg", frame(3, lambda d: d[: len(d) // 2]), 400, "bad_frame",
     r"frame 3: corrupt JPEG data .*truncated"),
    ("jpeg_header_only", frame(0, lambda d: d[:20]), 400, "bad_frame", r"frame 0: unreadable JPEG"),
    ("png_sent_as_jpeg", frame(2, lambda d: encode(GRAY, "PNG")), 400, "bad_frame",
     r"frame 2: declared image/jpeg but is not a JPEG file"),
    ("jpeg_sent_as_png", frame(1, lambda d: d, "image/png"), 400, "bad_frame",
     r"frame 1: declared image/png but is not a PNG file"),
    ("png_huge_declared_size", frame(0, lambda d: png_declaring(100_000, 100_000), "image/png"),
     413, "frame_too_large", r"frame 0: (too many pixels|100000x100000 exceeds)"),
    ("png_just_over_pixel_limit", frame(5, lambda d: png_declaring(641, 640), "image/png"), 413,
     "frame_too_large", r"frame 5: 641x640 exceeds 409600 pixels"),
    ("jpeg_huge_declared_size", frame(4, lambda d: jpeg_declaring(d, 60_000, 60_000)), 413,
     "frame_too_large", r"frame 4: (too many pixels|60000x60000 exceeds)"),
    ("empty_frame_part", frame(6, lambda d: b""), 400, "bad_frame",
     r"frame 6: declared image/jpeg but is not a JPEG file"),
    ("gif_frame", frame(0, lambda d: b"GIF89a\x01\x00\x01\x00", "image/gif"), 415,
     "unsupported_media_type", r"frame 0: content type 'image/gif'"),
    ("octet_stream_frame", frame(7, lambda d: d, "application/octet-stream"), 415,
     "unsupported_media_type", r"frame 7: content type 'application/octet-stream'"),
    ("mixed_frame_sizes", frame(3, lambda d: encode(GRAY)), 422, "frame_size_mismatch",
     r"frame 3: 48x64 differs from frame 0"),
    ("duplicate_frames", doubled, 422, "bad_timestamps", r"row 2: t_ms .* is not after previous"),
    # Timestamps: wrong units, order, non-finite, wrong types.
    ("frame_times_in_seconds", field("frames_t_ms", times_scaled(1e-3)), 422, "bad_timestamps",
     r"frame rate .* fps outside 4\.\.120 \(t_ms in ms\?\)"),
    ("frame_times_in_microseconds", field("frames_t_ms", times_scaled(1e3)), 422,
     "bad_timestamps", r"frame rate .* fps outside 4\.\.120"),
    ("frame_times_unsorted", field("frames_t_ms", swap_rows(4, 5)), 422, "bad_timestamps",
     r"row \d+: t_ms .* is not after previous"),
    ("frame_time_nan", field("frames_t_ms", set_item(2, None)), 422, "bad_timestamps",
     r"row 3: t_ms is NaN"),
    ("frame_time_infinite", field("frames_t_ms", lambda v: json.dumps(v).replace(
        str(v[-1]), "Infinity", 1).encode()), 422, "bad_timestamps", r"t_ms is infinite"),
    ("frame_times_as_strings", field("frames_t_ms", lambda v: [str(x) for x in v]), 400,
     "bad_field", r"frames_t_ms: an entry is str, not a number"),
    ("frame_times_empty", field("frames_t_ms", lambda v: b""), 400, "bad_json",
     r"frames_t_ms: not valid JSON"),
    ("frame_times_missing", drop("frames_t_ms"), 400, "missing_field", r"frames_t_ms: missing"),
    # IMU: non-finite, order, wrong units by 1000x (the detectable ones), shape.
    ("imu_nan", field("imu", lambda r: (r[5].__setitem__(4, None), r)[1]), 422, "imu_unusable",
     r"row 6: gx is NaN"),
    ("imu_nan_token", field("imu", lambda r: json.dumps(r).replace(
        json.dumps(r[7][1]), "NaN", 1).encode()), 422, "imu_unusable", r"row 8: ax is NaN"),
    ("imu_infinite", field("imu", lambda r: json.dumps(r).replace(
        json.dumps(r[2][6]), "-Infinity", 1).encode()), 422, "imu_unusable",
     r"row 3: gz is infinite"),
    ("imu_unsorted", field("imu", swap_rows(10, 11)), 422, "imu_unusable",
     r"row \d+: t_ms .* is before previous"),
    ("imu_times_in_seconds", field("imu", imu_times_scaled(1e-3)), 422, "imu_unusable",
     r"sample rate .* Hz outside 5\.\.1000 \(t_ms in ms\?\)"),
    ("imu_times_in_microseconds", field("imu", imu_times_scaled(1e3)), 422, "imu_unusable",
     r"sample rate .* Hz outside 5\.\.1000"),
    ("gyro_in_mrad_per_s", imu_cols(slice(4, 7), 1e3), 422, "imu_unusable",
     r"g[xyz] = .* exceeds ±35 rad/s \(deg/s\?\)"),
    ("accel_in_mm_per_s2", imu_cols(slice(1, 4), 1e3), 422, "imu_unusable",
     r"a[xyz] = .* exceeds ±156.96 m/s² \(16 g\)"),
    ("accel_in_km_per_s2", imu_cols(slice(1, 4), 1e-3), 422, "imu_unusable",
     r"accelerometer magnitude averages 0\.00\d+ m/s², expected about 9\.81"),
    ("accel_in_g", imu_cols(slice(1, 4), 1 / 9.81), 422, "imu_unusable",
     r"accelerometer magnitude averages 0\.99\d m/s².*not g"),
    ("imu_short_row", field("imu", lambda r: (r[0].pop(), r)[1]), 400, "bad_field",
     r"imu: row 1: expected \[t_ms, ax, ay, az, gx, gy, gz\]"),
    ("imu_string_value", field("imu", lambda r: (r[1].__setitem__(3, "9.8"), r)[1]), 400,
     "bad_field", r"imu: row 2: a value is str"),
    ("imu_not_array", field("imu", lambda r: {"samples": r}), 400, "bad_field",
     r"imu: expected a JSON array"),
    ("imu_three_samples", field("imu", lambda r: r[:3]), 422, "imu_unusable",
     r"3 samples, need at least 4"),
    ("imu_too_many_rows", field("imu", lambda r: [[i, 0, 9.8, 0, 0, 0, 0] for i in range(2001)]),
     413, "too_many_imu_samples", r"imu: 2001 rows > 2000"),
    ("imu_field_over_256_kib", field("imu", lambda r: b"[" + b" " * 300_000 + b"]"), 413,
     "too_large", r"a text field .* exceeds 262144 bytes"),
    # Multipart structure and field names.
    ("unknown_field", lambda p: [*p, ("note", None, None, b"hi")], 400, "unknown_field",
     r"unknown field\(s\) 'note'; expected frames, frames_t_ms, imu"),
    ("frame_times_twice", lambda p: [*p, ("frames_t_ms", None, None, b"[]")], 400, "bad_field",
     r"frames_t_ms: sent more than once"),
    ("no_frames", drop("frames"), 400, "missing_field", r"frames: no frame parts"),
    ("seven_frames", lambda p: [x for i, x in enumerate(p) if i >= 24 or x[0] != "frames"], 422,
     "too_few_frames", r"7 frames, need at least 8"),
    # Issue 12: a 401-digit integer was a 500 (OverflowError); two misleading messages.
    ("frame_time_401_digits", field("frames_t_ms", set_item(0, 10**400)), 400, "bad_field",
     r"frames_t_ms: an entry is an integer too large for a float"),
    ("imu_value_401_digits", field("imu", lambda r: (r[0].__setitem__(0, 10**400), r)[1]), 400,
     "bad_field", r"imu: row 1: a value is an integer too large for a float"),
    ("filename_9000_chars", lambda p: [(n, "a" * 9000 + ".jpg" if f else f, c, d)
                                       for n, f, c, d in p], 400, "bad_multipart",
     r"part 0: headers longer than 8192 bytes"),
    ("frame_part_without_filename", lambda p: [(n, None if i == 2 else f, c, d)
                                               for i, (n, f, c, d) in enumerate(p)], 400,
     "bad_multipart", r"text field 'frames' is not UTF-8 \(a file part needs filename="),
]  # fmt: skip


def post(app: Flask, body: bytes, ctype: str) -> Any:
    sid = new_session(app)["session_id"]
    return app.test_client().post(f"/api/v1/sessions/{sid}/check", data=body, content_type=ctype)


def assert_clear(resp: Any, status: int, code: str, pattern: str) -> None:
    assert_error(resp, status, code)
    message = resp.get_json()["error"]["message"]
    assert re.search(pattern, message), message
    assert len(message) < 400 and "\\x" not in message and "upload/" not in message


@pytest.mark.parametrize(("edit", "status", "code", "pattern"), [c[1:] for c in CORPUS],
                         ids=[c[0] for c in CORPUS])  # fmt: skip
def test_malformed_upload(
    make_app: AppFactory,  # noqa: F811
    clip: Clip,
    edit: Callable[[Parts], Parts],
    status: int,
    code: str,
    pattern: str,
) -> None:
    app = make_app()
    parts = parts_of(clip)
    resp = post(app, body_of(edit(parts)), f"multipart/form-data; boundary={BOUNDARY}")
    assert_clear(resp, status, code, pattern)


NEEDS_NAME = r"part 0: needs 'Content-Disposition: form-data; name=\.\.\.'"
RAW: list[tuple[str, bytes, str, int, str, str]] = [
    ("json_body", b'{"frames": []}', "application/json", 415, "unsupported_media_type",
     r"expected multipart/form-data, got 'application/json'"),
    ("text_body", b"frames=1", "text/plain", 415, "unsupported_media_type", r"got 'text/plain'"),
    ("urlencoded_form", b"frames_t_ms=%5B%5D", "application/x-www-form-urlencoded", 415,
     "unsupported_media_type", r"got 'application/x-www-form-urlencoded'"),
    ("no_content_type", b"", "", 415, "unsupported_media_type", r"got 'no content type'"),
    ("multipart_without_boundary", b"--x\r\n\r\n--x--\r\n", "multipart/form-data", 400,
     "bad_multipart", r"missing or invalid boundary in the Content-Type header"),
    ("empty_multipart", f"--{BOUNDARY}--\r\n".encode(),
     f"multipart/form-data; boundary={BOUNDARY}", 400, "missing_field", r"no frame parts"),
    ("multipart_cut_off", f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"frames\"; "
     "filename=\"0.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8".encode("latin-1"),
     f"multipart/form-data; boundary={BOUNDARY}", 400, "bad_multipart",
     r"part 0: not terminated by the boundary \(truncated body\?\)"),
    ("file_part_without_name", f"--{BOUNDARY}\r\nContent-Disposition: form-data; "
     f'filename="0.jpg"\r\n\r\nxx\r\n--{BOUNDARY}--\r\n'.encode(),
     f"multipart/form-data; boundary={BOUNDARY}", 400, "bad_multipart", NEEDS_NAME),
    ("bare_name_parameter", body_of([("frames", "0.jpg", "image/jpeg", b"x")]).replace(
        b'name="frames"', b"name", 1) + b"",
     f"multipart/form-data; boundary={BOUNDARY}", 400, "bad_multipart", NEEDS_NAME),
    ("part_without_name", body_of([("", None, None, b"[1,2]")]),
     f"multipart/form-data; boundary={BOUNDARY}", 400, "bad_multipart", NEEDS_NAME),
]  # fmt: skip


@pytest.mark.parametrize(("body", "ctype", "status", "code", "pattern"), [c[1:] for c in RAW],
                         ids=[c[0] for c in RAW])  # fmt: skip
def test_malformed_request(
    make_app: AppFactory,  # noqa: F811
    body: bytes,
    ctype: str,
    status: int,
    code: str,
    pattern: str,
) -> None:
    resp = post(make_app(), body, ctype)
    assert_clear(resp, status, code, pattern)


def test_frozen_video_is_never_live(make_app: AppFactory, clip: Clip) -> None:  # noqa: F811
    """The same frame in every part (a still image with real motion data): well-formed, so it is
    judged, and never live."""
    parts = parts_of(clip)
    first = next(x for x in parts if x[0] == "frames")
    frozen = [first if x[0] == "frames" else x for x in parts]
    resp = post(make_app(), body_of(frozen), f"multipart/form-data; boundary={BOUNDARY}")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["live"] is False and body["reasons"], body


@pytest.mark.parametrize("factor", [1e-3, 180 / np.pi])
def test_undetectable_gyro_units(make_app: AppFactory, clip: Clip, factor: float) -> None:  # noqa: F811
    """Gyro 1000x too small (looks like a phone held still) or in deg/s (57x, within the
    gyroscope's range) cannot be told from the values alone: documented in docs/HARDENING.md.
    Both fail safe: too small does not follow the challenge, and in deg/s the video turns 1/57 of
    what the gyro claims, so the motion agreement (gain) refuses the challenge too."""
    resp = post(make_app(), body_of(imu_cols(slice(4, 7), factor)(parts_of(clip))),
                f"multipart/form-data; boundary={BOUNDARY}")  # fmt: skip
    assert resp.status_code == 200, resp.get_json()
    ch = resp.get_json()["challenge"]
    assert ch["judged_from"] == "imu+video"
    assert ch["followed"] is False, ch
    wrong = make_app(challenges=("right",))
    resp = post(wrong, body_of(imu_cols(slice(4, 7), factor)(parts_of(clip))),
                f"multipart/form-data; boundary={BOUNDARY}")  # fmt: skip
    assert resp.get_json()["challenge"]["followed"] is False
