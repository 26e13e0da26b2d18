"""Strict parsing of a check upload (multipart) into a validated Clip, limits checked first."""

from __future__ import annotations

import io
import json
import math
import os
import re
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import numpy as np
from PIL import Image
from werkzeug.datastructures import FileStorage

from liveness.clip import Clip, ClipError, validate_clip
from liveness.config import GRAVITY
from liveness.frames import decode_rgb
from liveness.server.errors import ApiError
from liveness.server.settings import ServerSettings

FORMATS = {"image/jpeg": ("JPEG", b"\xff\xd8\xff"), "image/png": ("PNG", b"\x89PNG\r\n\x1a\n")}
# Mean |accelerometer| over a capture (gravity included, CONTRACT.md) must be about 1 g: this
# catches values sent in g (1000x too small would read ~0.01) that the per-sample range allows.
GRAVITY_MEAN_RANGE = (0.5 * GRAVITY, 2.0 * GRAVITY)
FILE_FIELDS = {"frames"}
TEXT_FIELDS = {"frames_t_ms", "imu"}


def _json_field(name: str, text: str) -> Any:
    """JSON text -> value; NaN/Infinity tokens are kept (validate_clip names them), else 400."""
    try:
        return json.loads(text, parse_constant=lambda c: float(c.replace("Infinity", "inf")))
    except (ValueError, RecursionError) as e:
        raise ApiError(400, "bad_json", f"{name}: not valid JSON ({e})") from None


def _number(v: Any) -> float:
    """A JSON number (null -> NaN, as JSON.stringify writes NaN); anything else is malformed."""
    if v is None:
        return math.nan
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise TypeError(type(v).__name__)
    try:
        return float(v)
    except OverflowError:  # a JSON integer of hundreds of digits
        raise TypeError("an integer too large for a float") from None


def parse_times(text: str | None, n_frames: int) -> np.ndarray:
    if text is None:
        raise ApiError(400, "missing_field", "frames_t_ms: missing (JSON array of numbers, ms)")
    value = _json_field("frames_t_ms", text)
    if not isinstance(value, list):
        raise ApiError(400, "bad_field", "frames_t_ms: expected a JSON array of numbers")
    try:
        t = np.array([_number(v) for v in value], dtype=np.float64)
    except TypeError as e:
        raise ApiError(400, "bad_field", f"frames_t_ms: an entry is {e}, not a number") from None
    if len(t) != n_frames:
        raise ApiError(400, "bad_field", f"frames_t_ms: {len(t)} timestamps for {n_frames} frames")
    return t


def _numeric_rows(value: list[Any]) -> np.ndarray | None:
    """Rows of exactly 7 JSON numbers (no null, bool or string) as (N, 7) float64, else None."""
    if not all(type(row) is list and len(row) == 7 for row in value):
        return None
    if not all(type(v) is float or type(v) is int for row in value for v in row):
        return None
    try:
        return np.array(value, dtype=np.float64)
    except OverflowError:  # the slow path names the row
        return None


def parse_imu(text: str | None, max_samples: int) -> np.ndarray | None:
    """Absent, empty or "[]" -> None (no sensors); else (N, 7) float64 rows."""
    if text is None or not text.strip():
        return None
    value = _json_field("imu", text)
    if not isinstance(value, list):
        raise ApiError(400, "bad_field", "imu: expected a JSON array of [t_ms, ax..gz] rows")
    if not value:
        return None
    if len(value) > max_samples:
        raise ApiError(413, "too_many_imu_samples", f"imu: {len(value)} rows > {max_samples}")
    fast = _numeric_rows(value)
    if fast is not None:
        return fast
    out = np.empty((len(value), 7), dtype=np.float64)  # slow path: names the first bad row
    for r, row in enumerate(value):
        if not isinstance(row, list) or len(row) != 7:
            raise ApiError(
                400, "bad_field", f"imu: row {r + 1}: expected [t_ms, ax, ay, az, gx, gy, gz]"
            )
        try:
            out[r] = [_number(v) for v in row]
        except TypeError as e:
            raise ApiError(400, "bad_field", f"imu: row {r + 1}: a value is {e}") from None
    return out


def part_type(k: int, part: FileStorage) -> str:
    """The declared type of frame part k, which must be image/jpeg or image/png (else 415)."""
    mimetype = (part.mimetype or "").lower()
    if mimetype not in FORMATS:
        raise ApiError(
            415, "unsupported_media_type",
            f"frame {k}: content type {mimetype or 'missing'!r}; use image/jpeg or image/png",
        )  # fmt: skip
    return mimetype


def _open(k: int, part: FileStorage, max_pixels: int) -> tuple[bytes, str, str, tuple[int, int]]:
    """Check one frame part's declared type, magic bytes and header size; nothing decoded.
    Returns (bytes, format, Pillow mode, (width, height))."""
    mimetype = part_type(k, part)
    fmt, magic = FORMATS[mimetype]
    data = part.read()
    if not data.startswith(magic):
        raise ApiError(400, "bad_frame", f"frame {k}: declared {mimetype} but is not a {fmt} file")
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as im:
            size, mode = im.size, im.mode  # from the header only
    except Image.DecompressionBombError:
        raise ApiError(413, "frame_too_large", f"frame {k}: too many pixels") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ApiError(400, "bad_frame", f"frame {k}: unreadable {fmt} header ({e})") from None
    if size[0] * size[1] > max_pixels:
        raise ApiError(
            413, "frame_too_large",
            f"frame {k}: {size[0]}x{size[1]} exceeds {max_pixels} pixels",
        )  # fmt: skip
    return data, fmt, mode, size


def open_frames(
    parts: list[FileStorage], max_pixels: int
) -> tuple[list[tuple[bytes, str, str]], tuple[int, int]]:
    """Check every frame part's type, magic bytes and header size (nothing decoded) and that
    all frames share one size; returns (bytes, format, mode) per frame and the (width, height)."""
    heads = [_open(k, p, max_pixels) for k, p in enumerate(parts)]
    w, h = heads[0][3]
    for k, (_, _, _, size) in enumerate(heads):
        if size != (w, h):
            raise ApiError(
                422, "frame_size_mismatch",
                f"frame {k}: {size[0]}x{size[1]} differs from frame 0 ({w}x{h})",
            )  # fmt: skip
    return [(data, fmt, mode) for data, fmt, mode, _ in heads], (w, h)


def decode_into(
    out: np.ndarray, heads: list[tuple[bytes, str, str]], which: Iterable[int], overlap: bool = True
) -> None:
    """Decode frames `which` into out (T, H, W, 3) uint8 RGB (liveness.frames.decode_rgb, the
    decoder clips on disk use too). With `overlap`, this process's side thread takes frames
    from the same queue as this thread (OpenCV's and Pillow's decoders release the GIL); if it
    is busy, this thread decodes them all, never waiting behind other work. A corrupt frame
    raises for the lowest index that failed, whichever thread met it."""
    q = _FrameQueue(list(which))
    side = _decoder().submit(q.work, out, heads, True) if overlap and len(q.ks) > 1 else None
    try:
        q.work(out, heads, False)
    finally:
        # A side thread that started finishes its frame before anything returns; one that had
        # not (busy elsewhere) will find the queue closed and do nothing.
        if q.close() and side is not None:
            wait([side])
    failed = side.exception() if side is not None and side.done() else None
    if failed is not None:
        raise failed  # not a decoder's error (MemoryError…): as the one-thread loop would
    if q.errors:
        k, fmt, e = min(q.errors, key=lambda x: x[0])
        raise ApiError(400, "bad_frame", f"frame {k}: corrupt {fmt} data ({e})")


class _FrameQueue:
    """Frame indices handed out in order to whichever thread asks next; closed at the first
    corrupt frame (every lower index was already handed out) or when the request thread is
    done, after which a side thread that had not started does nothing."""

    def __init__(self, ks: list[int]) -> None:
        self.ks = ks
        self.errors: list[tuple[int, str, Exception]] = []
        self._next, self._closed, self._side_started = 0, False, False
        self._lock = threading.Lock()

    def _take(self) -> int | None:
        with self._lock:
            if self._closed or self._next >= len(self.ks):
                return None
            self._next += 1
            return self.ks[self._next - 1]

    def work(self, out: np.ndarray, heads: list[tuple[bytes, str, str]], side: bool) -> None:
        if side:
            with self._lock:
                if self._closed:
                    return
                self._side_started = True
        while (k := self._take()) is not None:
            data, fmt, mode = heads[k]
            try:
                out[k] = decode_rgb(data, fmt, mode)
            except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
                with self._lock:
                    self.errors.append((k, fmt, e))
                    self._closed = True

    def close(self) -> bool:
        """Close the queue; whether a side thread had started on it."""
        with self._lock:
            self._closed = True
            return self._side_started


_DECODER: tuple[int, ThreadPoolExecutor] | None = None
_DECODER_LOCK = threading.Lock()


def _decoder() -> ThreadPoolExecutor:
    """This process's decoding side thread, made on first use (a server forks its workers:
    a pool made before the fork would have no thread behind it)."""
    global _DECODER
    with _DECODER_LOCK:
        if _DECODER is None or _DECODER[0] != os.getpid():
            _DECODER = (os.getpid(), ThreadPoolExecutor(1, thread_name_prefix="decode"))
        return _DECODER[1]


_CODE_BY_FILE = (("imu.csv", "imu_unusable"), ("frames.csv", "bad_timestamps"))


def clip_error(e: ClipError) -> ApiError:
    """A ClipError from validate_clip -> 422 with a code naming what is unusable."""
    msg = str(e)
    code = next((c for f, c in _CODE_BY_FILE if f in msg), "invalid_clip")
    if re.search(r"frames\.csv: \d+ frames, need", msg):
        code = "too_few_frames"
    return ApiError(422, code, msg.replace("upload/", ""))


def parse_check(
    mimetype: str,
    files: Any,
    form: Any,
    settings: ServerSettings,
    select: Callable[[Clip], Iterable[int] | None] | None = None,
) -> Clip:
    """Multipart form of a check -> a Clip that passed liveness.clip.validate_clip.

    `select(clip)` (pixels not yet decoded) may name the only frames to decode; the others
    stay black. Every frame's type, magic bytes and header are checked either way.
    """
    if mimetype != "multipart/form-data":
        raise ApiError(
            415, "unsupported_media_type",
            f"expected multipart/form-data, got {mimetype or 'no content type'!r}",
        )  # fmt: skip
    # A part whose name Werkzeug cannot decode arrives under the key None: name it "".
    file_names = {k if isinstance(k, str) else "" for k in files}
    text_names = {k if isinstance(k, str) else "" for k in form}
    unknown = sorted((file_names - FILE_FIELDS) | (text_names - TEXT_FIELDS))
    if unknown:
        raise ApiError(
            400, "unknown_field",
            f"unknown field(s) {', '.join(repr(u[:40]) for u in unknown[:5])}; "
            "expected frames, frames_t_ms, imu",
        )  # fmt: skip
    for name in TEXT_FIELDS:
        if len(form.getlist(name)) > 1:
            raise ApiError(400, "bad_field", f"{name}: sent more than once")
    parts: list[FileStorage] = files.getlist("frames")
    n = len(parts)
    if n == 0:
        raise ApiError(400, "missing_field", "frames: no frame parts (image/jpeg or image/png)")
    if n > settings.max_frames:
        raise ApiError(413, "too_many_frames", f"{n} frames > {settings.max_frames}")
    if n < settings.min_frames:
        raise ApiError(422, "too_few_frames", f"{n} frames, need at least {settings.min_frames}")
    for k, part in enumerate(parts):
        part_type(k, part)  # cheap checks first: 415 before parsing anything
    t = parse_times(form.get("frames_t_ms"), n)
    imu = parse_imu(form.get("imu"), settings.imu_max_samples)
    heads, (w, h) = open_frames(parts, settings.max_frame_pixels)
    # Validation reads shapes, times and IMU, not pixels: it runs before any decoding.
    clip = Clip(frames=np.zeros((n, h, w, 3), dtype=np.uint8), frame_t_ms=t, imu=imu)
    try:
        validate_clip(clip, source="upload")
    except ClipError as e:
        raise clip_error(e) from None
    if imu is not None:
        check_gravity(imu)
    wanted = select(clip) if select is not None else None
    decode_into(clip.frames, heads, range(n) if wanted is None else wanted, settings.overlap)
    return clip


def check_gravity(imu: np.ndarray) -> None:
    """422 unless the accelerometer reads about 1 g on average (m/s², gravity included)."""
    mean = float(np.mean(np.linalg.norm(imu[:, 1:4], axis=1)))
    lo, hi = GRAVITY_MEAN_RANGE
    if not lo <= mean <= hi:
        raise ApiError(
            422, "imu_unusable",
            f"imu: accelerometer magnitude averages {mean:.3g} m/s², expected about {GRAVITY:.2f} "
            "(acceleration including gravity, in m/s², not g)",
        )  # fmt: skip
