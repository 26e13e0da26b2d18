"""Tests of clip reading, validation and writing (liveness.clip)."""

from __future__ import annotations

import os
import struct
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from liveness import clip as clipmod
from liveness.clip import Clip, ClipError, read_clip, validate_clip, write_clip


def make_clip(
    n: int = 12,
    fps: float = 15.0,
    imu_hz: float | None = 100.0,
    size: tuple[int, int] = (40, 32),
    t0: float = 1000.0,
    seed: int = 0,
) -> Clip:
    """A smooth synthetic clip (JPEG-friendly): (n, H, W, 3) frames, analytic IMU."""
    rng = np.random.default_rng(seed)
    h, w = size
    t = t0 + np.arange(n) * 1000.0 / fps
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([40 + 150 * xx / w, 40 + 150 * yy / h, 128 + 50 * np.sin(xx / 5.0)], -1)
    frames = np.stack(
        [np.clip(base + 3 * i + rng.normal(0, 1, base.shape), 0, 255) for i in range(n)]
    )
    imu = None
    if imu_hz is not None:
        ti = t[0] + np.arange(int((t[-1] - t[0]) * imu_hz / 1000.0) + 2) * 1000.0 / imu_hz
        s = (ti - t0) / 1000.0
        imu = np.column_stack(
            [ti, 0.3 * np.sin(s), 9.81 + 0.1 * s, 0.2 * np.cos(3 * s), 0.5 * s, -s, 0.1 + 0 * s]
        )
    return Clip(frames.astype(np.uint8), t, imu, {"label": "live", "attack": "none"})


def rewrite(file: Path, fn: Callable[[list[str]], list[str]]) -> None:
    lines = file.read_text().splitlines()
    file.write_text("\n".join(fn(lines)) + "\n")


def set_cell(row: int, col: int, value: str) -> Callable[[list[str]], list[str]]:
    """Edit data row `row` (1-based, header excluded), column `col`."""

    def fn(lines: list[str]) -> list[str]:
        cells = lines[row].split(",")
        cells[col] = value
        lines[row] = ",".join(cells)
        return lines

    return fn


def truncate(file: Path) -> None:
    """Cut an image file short after its header, as an interrupted upload would."""
    data = file.read_bytes()
    file.write_bytes(data[: len(data) * 5 // 6])


def png_header_only(w: int, h: int) -> bytes:
    """A PNG whose header claims w×h pixels but carries no pixel data."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + struct.pack(">I", 0)
        + b"IEND"
        + struct.pack(">I", zlib.crc32(b"IEND"))
    )


def test_round_trip_png_exact(tmp_path: Path) -> None:
    c = make_clip()
    write_clip(tmp_path / "c", c, image_format="png")
    r = read_clip(tmp_path / "c")
    assert np.array_equal(r.frames, c.frames)
    np.testing.assert_allclose(r.frame_t_ms, c.frame_t_ms, atol=5e-4)
    assert r.imu is not None and c.imu is not None
    np.testing.assert_allclose(r.imu[:, 0], c.imu[:, 0], atol=5e-4)
    np.testing.assert_allclose(r.imu[:, 1:], c.imu[:, 1:], rtol=5e-6, atol=1e-12)
    assert r.meta == c.meta and r.has_imu


def test_round_trip_jpeg_within_tolerance(tmp_path: Path) -> None:
    c = make_clip()
    write_clip(tmp_path / "c", c, jpeg_quality=90)
    r = read_clip(tmp_path / "c")
    diff = np.abs(r.frames.astype(int) - c.frames.astype(int))
    assert r.frames.shape == c.frames.shape and diff.mean() < 4.0


def test_layout_is_exactly_the_contract(tmp_path: Path) -> None:
    write_clip(tmp_path / "a", make_clip(n=9))
    names = sorted(str(p.relative_to(tmp_path / "a")) for p in (tmp_path / "a").rglob("*"))
    frames = [f"frames/{i:05d}.jpg" for i in range(9)]
    assert names == sorted(["frames", *frames, "frames.csv", "imu.csv", "meta.json"])
    assert (tmp_path / "a" / "frames.csv").read_text().splitlines()[:2] == [
        "index,t_ms",
        "0,1000.000",
    ]
    assert (tmp_path / "a" / "imu.csv").read_text().startswith("t_ms,ax,ay,az,gx,gy,gz\n")
    bare = make_clip(imu_hz=None)
    bare.meta = {}
    write_clip(tmp_path / "b", bare)
    assert not (tmp_path / "b" / "imu.csv").exists()
    assert not (tmp_path / "b" / "meta.json").exists()
    assert not read_clip(tmp_path / "b").has_imu
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("fmt", ["jpg", "png"])
def test_write_is_deterministic(tmp_path: Path, fmt: str) -> None:
    c = make_clip(seed=3)
    write_clip(tmp_path / "a", c, image_format=fmt)
    write_clip(tmp_path / "b", c, image_format=fmt)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    assert files
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


def test_write_refuses_existing_and_invalid(tmp_path: Path) -> None:
    c = make_clip()
    write_clip(tmp_path / "c", c)
    with pytest.raises(FileExistsError):
        write_clip(tmp_path / "c", c)
    c2 = make_clip(n=10, imu_hz=None)
    write_clip(tmp_path / "c", c2, overwrite=True)
    assert read_clip(tmp_path / "c").num_frames == 10 and not (tmp_path / "c/imu.csv").exists()
    (tmp_path / "empty").mkdir()
    write_clip(tmp_path / "empty", c)  # an empty directory is fine
    bad = make_clip(n=5)
    with pytest.raises(ClipError, match="5 frames"):
        write_clip(tmp_path / "bad", bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c", "empty"]  # no temp leftovers


def test_unknown_files_keys_order_and_modes(tmp_path: Path) -> None:
    d = tmp_path / "c"
    c = make_clip(n=8)
    write_clip(d, c, image_format="png")
    (d / "notes.txt").write_text("hello")
    (d / "frames" / "thumbs.db").write_text("x")
    (d / "meta.json").write_text('{"label": "spoof", "attack": "print", "phone": "x"}')
    lines = (d / "frames.csv").read_text().splitlines()
    (d / "frames.csv").write_text("\n".join([lines[0], *reversed(lines[1:])]) + "\n")
    Image.fromarray(c.frames[1]).convert("L").save(d / "frames" / "00001.png")
    Image.fromarray(c.frames[2]).convert("RGBA").save(d / "frames" / "00002.png")
    r = read_clip(d)
    assert r.meta["phone"] == "x" and r.frames.shape == c.frames.shape
    np.testing.assert_allclose(r.frame_t_ms, c.frame_t_ms, atol=5e-4)  # sorted by index
    assert np.array_equal(r.frames[2], c.frames[2])  # alpha dropped
    assert np.ptp(r.frames[1].astype(int), axis=-1).max() == 0  # gray replicated


def test_imu_repeated_timestamps_and_small_gap_at_ends_are_fine(tmp_path: Path) -> None:
    c = make_clip(imu_hz=50.0)
    assert c.imu is not None
    c.imu[3, 0] = c.imu[2, 0]  # repeated timestamp: non-decreasing is allowed
    c.imu = c.imu[(c.imu[:, 0] >= c.frame_t_ms[0] + 30) & (c.imu[:, 0] <= c.frame_t_ms[-1] - 30)]
    validate_clip(c)


# Each case: (what to break, file named in the message, words of the message).
ERROR_CASES: list[tuple[str, Callable[[Path], None], str, str]] = [
    ("no frames.csv", lambda d: (d / "frames.csv").unlink(), "frames.csv", "missing"),
    ("frames header", lambda d: rewrite(d / "frames.csv", set_cell(0, 1, "t")), "frames.csv",
     "header"),
    ("frames cell", lambda d: rewrite(d / "frames.csv", set_cell(3, 1, "abc")), "frames.csv",
     "row 3: t_ms is not a number"),
    ("frames count", lambda d: rewrite(d / "frames.csv", lambda ls: [*ls[:4], "3"]),
     "frames.csv", "row 4: expected 2 values"),
    ("frames index", lambda d: rewrite(d / "frames.csv", set_cell(2, 0, "1.5")), "frames.csv",
     "not an integer"),
    ("frames dup", lambda d: rewrite(d / "frames.csv", set_cell(2, 0, "0")), "frames.csv",
     "appears twice"),
    ("frames order", lambda d: rewrite(d / "frames.csv", set_cell(5, 1, "1000")), "frames.csv",
     "row 5: t_ms 1000.0 is not after"),
    ("frames nan", lambda d: rewrite(d / "frames.csv", set_cell(4, 1, "nan")), "frames.csv",
     "row 4: t_ms is NaN"),
    ("frames few", lambda d: rewrite(d / "frames.csv", lambda ls: ls[:6]), "frames.csv",
     "5 frames"),
    ("fps in s", lambda d: rewrite(d / "frames.csv", lambda ls: [ls[0]] + [
        f"{i},{i * 0.066:.3f}" for i in range(len(ls) - 1)]), "frames.csv", "frame rate"),
    ("frame gone", lambda d: (d / "frames" / "00004.jpg").unlink(), "frames/00004.jpg",
     "missing"),
    ("frame corrupt", lambda d: (d / "frames" / "00002.jpg").write_bytes(b"not a jpeg"),
     "frames/00002.jpg", "unreadable image"),
    ("frame truncated", lambda d: truncate(d / "frames" / "00003.jpg"), "frames/00003.jpg",
     "corrupt image"),
    ("frame size", lambda d: Image.new("RGB", (8, 8)).save(d / "frames" / "00005.jpg"),
     "frames/00005.jpg", "differs from 00000.jpg"),
    ("frame bomb", lambda d: ((d / "frames" / "00000.jpg").unlink(), (
        d / "frames" / "00000.png").write_bytes(png_header_only(5000, 5000))),
     "frames/00000.png", "exceeds"),
    ("imu header", lambda d: rewrite(d / "imu.csv", set_cell(0, 6, "gyro_z")), "imu.csv",
     "header"),
    ("imu cell", lambda d: rewrite(d / "imu.csv", set_cell(7, 2, "")), "imu.csv",
     "row 7: ay is not a number"),
    ("imu nan", lambda d: rewrite(d / "imu.csv", set_cell(12, 6, "NaN")), "imu.csv",
     "row 12: gz is NaN"),
    ("imu inf", lambda d: rewrite(d / "imu.csv", set_cell(2, 1, "inf")), "imu.csv",
     "row 2: ax is infinite"),
    ("imu order", lambda d: rewrite(d / "imu.csv", set_cell(9, 0, "900")), "imu.csv",
     "row 9: t_ms 900.0 is before"),
    ("imu acc", lambda d: rewrite(d / "imu.csv", set_cell(6, 3, "-300")), "imu.csv",
     "row 6: az = -300 exceeds"),
    ("imu deg/s", lambda d: rewrite(d / "imu.csv", set_cell(8, 5, "90")), "imu.csv",
     "row 8: gy = 90 exceeds ±35 rad/s"),
    ("imu late", lambda d: rewrite(d / "imu.csv", lambda ls: [ls[0], *ls[15:]]), "imu.csv",
     "frames span"),
    ("imu early", lambda d: rewrite(d / "imu.csv", lambda ls: ls[:-15]), "imu.csv",
     "frames span"),
    ("imu few", lambda d: rewrite(d / "imu.csv", lambda ls: ls[:3]), "imu.csv", "2 samples"),
    ("imu sparse", lambda d: rewrite(d / "imu.csv", lambda ls: [ls[0], ls[1], *ls[2:-1:40],
     ls[-1]]), "imu.csv", "sample rate"),
    ("meta json", lambda d: (d / "meta.json").write_text("{nope"), "meta.json", "invalid JSON"),
    ("meta list", lambda d: (d / "meta.json").write_text("[1]"), "meta.json", "JSON object"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "breaker", "file", "words"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES]
)
def test_read_errors_name_file_and_problem(
    tmp_path: Path, name: str, breaker: Callable[[Path], None], file: str, words: str
) -> None:
    d = tmp_path / "clip"
    write_clip(d, make_clip(n=12, fps=15.0, imu_hz=100.0))
    breaker(d)
    with pytest.raises(ClipError) as e:
        read_clip(d)
    msg = str(e.value)
    assert f"{d}/{file}" in msg, msg
    assert words in msg, msg


def test_not_a_directory_and_bomb_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ClipError, match="not a clip directory"):
        read_clip(tmp_path / "nothing")
    write_clip(tmp_path / "c", make_clip())
    monkeypatch.setattr(clipmod, "MAX_TOTAL_PIXELS", 1000)
    with pytest.raises(ClipError, match="exceed the budget"):
        read_clip(tmp_path / "c")


def test_validate_in_memory_arrays() -> None:
    c = make_clip()
    validate_clip(c)
    with pytest.raises(ClipError, match=r"<clip>/frames: expected \(T,H,W,3\) uint8"):
        validate_clip(Clip(c.frames.astype(np.float32), c.frame_t_ms, c.imu))
    with pytest.raises(ClipError, match="timestamps for 12 frames"):
        validate_clip(Clip(c.frames, c.frame_t_ms[:-1], c.imu))
    with pytest.raises(ClipError, match=r"x/imu.csv: expected \(N,7\)"):
        validate_clip(Clip(c.frames, c.frame_t_ms, np.zeros((30, 6))), source="x")


@settings(max_examples=20, deadline=None)
@given(
    fps=st.floats(8.0, 30.0),
    imu_hz=st.floats(20.0, 200.0),
    n=st.integers(8, 30),
    t0=st.floats(-1e6, 1e8),
    jitter=st.floats(0.0, 0.3),
    drop=st.floats(0.0, 0.3),
    png=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_round_trip_property(
    fps: float, imu_hz: float, n: int, t0: float, jitter: float, drop: float, png: bool, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    c = make_clip(n=n, fps=fps, imu_hz=imu_hz, size=(12, 10), t0=t0, seed=seed)
    assert c.imu is not None
    period = 1000.0 / fps
    c.frame_t_ms = c.frame_t_ms + rng.uniform(-jitter, jitter, n) * period
    keep = rng.random(len(c.imu)) >= drop
    keep[::2] = True  # drop isolated samples only: at least half the rate survives
    keep[-1] = True  # keep coverage of the frame span
    c.imu = c.imu[keep]
    c.imu[:, 0] = np.sort(c.imu[:, 0] + rng.uniform(-0.2, 0.2, len(c.imu)) * 1000.0 / imu_hz)
    c.imu[0, 0] = min(c.imu[0, 0], c.frame_t_ms[0])
    c.imu[-1, 0] = max(c.imu[-1, 0], c.frame_t_ms[-1])
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "c"
        write_clip(d, c, image_format="png" if png else "jpg")
        r = read_clip(d)
        assert sorted(os.listdir(d / "frames")) == [
            f"{i:05d}.{'png' if png else 'jpg'}" for i in range(n)
        ]
    assert r.frames.shape == c.frames.shape
    if png:
        assert np.array_equal(r.frames, c.frames)
    np.testing.assert_allclose(r.frame_t_ms, c.frame_t_ms, rtol=0, atol=5e-4 + 1e-9 * abs(t0))
    assert r.imu is not None
    np.testing.assert_allclose(r.imu[:, 1:], c.imu[:, 1:], rtol=5e-6, atol=1e-12)


def test_only_jpeg_and_png_are_decoded(tmp_path: Path) -> None:
    d = tmp_path / "c"
    write_clip(d, make_clip(), image_format="png")
    Image.fromarray(make_clip().frames[0]).save(d / "frames" / "00000.png", "GIF")
    with pytest.raises(ClipError, match=r"frames/00000\.png: unreadable image"):
        read_clip(d)
