"""Read, validate and write clip directories in the format of CONTRACT.md."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from liveness.config import GRAVITY
from liveness.frames import decode_rgb

MIN_FRAMES = 8  # the contract's minimum
MAX_FRAMES = 900  # 30 s at 30 fps: the contract asks ~2 s; bounds memory before decoding
MAX_FRAME_PIXELS = 4096 * 4096  # per frame, checked from the header before decoding
MAX_TOTAL_PIXELS = 256 * 1024 * 1024  # whole clip (768 MB as RGB), checked before decoding
MIN_FPS, MAX_FPS = 4.0, 120.0  # lenient around the contract's 8–30 fps; catches s or µs as ms
MIN_IMU_HZ, MAX_IMU_HZ = 5.0, 1000.0  # lenient around 20–200 Hz: mean rate over the IMU span
MIN_IMU_SAMPLES = 4
MAX_IMU_SAMPLES = 200_000
MAX_ACC = 16.0 * GRAVITY  # m/s² per component: a ±16 g accelerometer's full scale
MAX_GYRO = 35.0  # rad/s per component (~2000 °/s full scale); deg/s sent as rad/s when large
COVERAGE_TOL_MS = 50.0  # IMU may stop short of the frames by max(this, one IMU period)

FRAMES_HEADER = ("index", "t_ms")
IMU_HEADER = ("t_ms", "ax", "ay", "az", "gx", "gy", "gz")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
IMAGE_FORMATS = ("JPEG", "PNG")  # the contract's; other decoders are never reached


class ClipError(ValueError):
    """A clip that cannot be used; the message names the file and the problem."""


@dataclass
class Clip:
    """One capture: frames (T,H,W,3) uint8 RGB, their times (T,) ms, IMU (N,7) or None."""

    frames: np.ndarray  # (T, H, W, 3) uint8 RGB, not mirrored
    frame_t_ms: np.ndarray  # (T,) float64, strictly increasing
    imu: np.ndarray | None = None  # (N, 7) float64: t_ms, ax, ay, az (m/s²), gx, gy, gz (rad/s)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def has_imu(self) -> bool:
        return self.imu is not None

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])


def _read_table(file: Path, header: tuple[str, ...]) -> np.ndarray:
    """Parse a numeric CSV with exactly `header`; returns (rows, len(header)) float64."""
    try:
        text = file.read_text(encoding="utf-8-sig")  # tolerate a BOM from spreadsheet tools
    except (OSError, UnicodeDecodeError) as e:
        raise ClipError(f"{file}: unreadable: {e}") from e
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise ClipError(f"{file}: empty file, expected header {','.join(header)!r}")
    got = tuple(c.strip() for c in lines[0].split(","))
    if got != header:
        raise ClipError(f"{file}: header is {lines[0]!r}, expected {','.join(header)!r}")
    out = np.empty((len(lines) - 1, len(header)), dtype=np.float64)
    for r, line in enumerate(lines[1:], start=1):
        cells = line.split(",")
        if len(cells) != len(header):
            raise ClipError(f"{file}: row {r}: expected {len(header)} values, got {len(cells)}")
        for c, cell in enumerate(cells):
            try:
                out[r - 1, c] = float(cell)
            except ValueError:
                raise ClipError(
                    f"{file}: row {r}: {header[c]} is not a number: {cell.strip()!r}"
                ) from None
    return out


def _frame_files(frames_dir: Path) -> dict[int, Path]:
    """Map frame index -> image file (frames/00007.jpg -> 7); other files are ignored."""
    if not frames_dir.is_dir():
        raise ClipError(f"{frames_dir}: missing frames directory")
    found: dict[int, Path] = {}
    for p in frames_dir.iterdir():
        if p.suffix.lower() not in IMAGE_SUFFIXES or not p.stem.isdigit():
            continue
        i = int(p.stem)
        if i in found:
            raise ClipError(f"{p}: two image files for frame index {i} (also {found[i].name})")
        found[i] = p
    return found


def _load_frames(files: list[Path]) -> np.ndarray:
    """Decode frames after checking sizes from headers; returns (T, H, W, 3) uint8."""
    sizes, formats, modes = [], [], []
    for p in files:
        try:
            with Image.open(p, formats=IMAGE_FORMATS) as im:
                sizes.append(im.size)  # header only: nothing decoded yet
                formats.append(str(im.format))
                modes.append(im.mode)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
            raise ClipError(f"{p}: unreadable image: {e}") from e
        w, h = sizes[-1]
        if w * h > MAX_FRAME_PIXELS:
            raise ClipError(f"{p}: {w}x{h} frame exceeds {MAX_FRAME_PIXELS} pixels")
        if sizes[-1] != sizes[0]:
            w0, h0 = sizes[0]
            raise ClipError(f"{p}: size {w}x{h} differs from {files[0].name} ({w0}x{h0})")
    w, h = sizes[0]
    if w * h * len(files) > MAX_TOTAL_PIXELS:
        raise ClipError(f"{files[0].parent}: {len(files)} frames of {w}x{h} exceed the budget")
    out = np.empty((len(files), h, w, 3), dtype=np.uint8)
    for i, p in enumerate(files):
        try:
            # Grayscale, palette, RGBA (alpha dropped), CMYK all become RGB.
            out[i] = decode_rgb(p.read_bytes(), formats[i], modes[i])
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
            raise ClipError(f"{p}: corrupt image: {e}") from e
    return out


def read_clip(path: str | os.PathLike[str]) -> Clip:
    """Read and validate a clip directory; raises ClipError naming the file at fault."""
    root = Path(path)
    if not root.is_dir():
        raise ClipError(f"{root}: not a clip directory")
    if not (root / "frames.csv").is_file():
        raise ClipError(f"{root / 'frames.csv'}: missing")
    table = _read_table(root / "frames.csv", FRAMES_HEADER)
    if not MIN_FRAMES <= len(table) <= MAX_FRAMES:
        raise ClipError(
            f"{root / 'frames.csv'}: {len(table)} frames, need {MIN_FRAMES}..{MAX_FRAMES}"
        )
    idx = table[:, 0]
    bad = np.flatnonzero(~np.isfinite(idx) | (idx < 0) | (idx != np.round(idx)))
    if bad.size:
        r = int(bad[0])
        raise ClipError(f"{root / 'frames.csv'}: row {r + 1}: index {idx[r]!r} is not an integer")
    order = np.argsort(idx, kind="stable")  # frames are ordered by index, not by row
    idx, t_ms = idx[order].astype(np.int64), table[order, 1]
    dup = np.flatnonzero(np.diff(idx) == 0)
    if dup.size:
        raise ClipError(f"{root / 'frames.csv'}: index {idx[dup[0]]} appears twice")
    available = _frame_files(root / "frames")
    missing = [i for i in idx if int(i) not in available]
    if missing:
        raise ClipError(f"{root / 'frames'}/{int(missing[0]):05d}.jpg|png: missing frame")
    frames = _load_frames([available[int(i)] for i in idx])
    imu = None
    if (root / "imu.csv").exists():
        imu = _read_table(root / "imu.csv", IMU_HEADER)
        if len(imu) > MAX_IMU_SAMPLES:
            raise ClipError(f"{root / 'imu.csv'}: {len(imu)} rows exceed {MAX_IMU_SAMPLES}")
    meta: dict[str, Any] = {}
    if (root / "meta.json").exists():
        try:
            meta = json.loads((root / "meta.json").read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ClipError(f"{root / 'meta.json'}: invalid JSON: {e}") from e
        if not isinstance(meta, dict):
            raise ClipError(f"{root / 'meta.json'}: must be a JSON object")
    clip = Clip(frames=frames, frame_t_ms=t_ms, imu=imu, meta=meta)
    validate_clip(clip, source=str(root))
    return clip


def _check_finite(arr: np.ndarray, file: str, names: tuple[str, ...]) -> None:
    bad = np.argwhere(~np.isfinite(arr))  # (k, 2) row, column of each offender
    if bad.size:
        r, c = (int(v) for v in bad[0])
        what = "NaN" if math.isnan(arr[r, c]) else "infinite"
        raise ClipError(f"{file}: row {r + 1}: {names[c]} is {what}")


def validate_clip(clip: Clip, source: str = "<clip>") -> None:
    """Check a clip against the contract and sanity limits; raises ClipError."""
    fcsv, icsv = f"{source}/frames.csv", f"{source}/imu.csv"
    f = clip.frames
    if not isinstance(f, np.ndarray) or f.dtype != np.uint8 or f.ndim != 4 or f.shape[3] != 3:
        desc = f"{f.dtype} {f.shape}" if isinstance(f, np.ndarray) else type(f).__name__
        raise ClipError(f"{source}/frames: expected (T,H,W,3) uint8 RGB, got {desc}")
    n, h, w = f.shape[:3]
    if h * w == 0 or h * w > MAX_FRAME_PIXELS:
        raise ClipError(f"{source}/frames: frame size {w}x{h} outside 1..{MAX_FRAME_PIXELS} px")
    try:
        t = np.asarray(clip.frame_t_ms, dtype=np.float64)
        imu = None if clip.imu is None else np.asarray(clip.imu, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ClipError(f"{source}: timestamps and IMU must be numeric arrays: {e}") from e
    if t.shape != (n,):
        raise ClipError(f"{fcsv}: {t.shape} timestamps for {n} frames")
    if not MIN_FRAMES <= n <= MAX_FRAMES:
        raise ClipError(f"{fcsv}: {n} frames, need {MIN_FRAMES}..{MAX_FRAMES}")
    _check_finite(t[:, None], fcsv, ("t_ms",))
    back = np.flatnonzero(np.diff(t) <= 0)
    if back.size:
        r = int(back[0]) + 1
        raise ClipError(f"{fcsv}: row {r + 1}: t_ms {t[r]} is not after previous {t[r - 1]}")
    fps = (n - 1) * 1000.0 / (t[-1] - t[0])
    if not MIN_FPS <= fps <= MAX_FPS:
        raise ClipError(
            f"{fcsv}: frame rate {fps:.3g} fps outside {MIN_FPS:g}..{MAX_FPS:g} (t_ms in ms?)"
        )
    if imu is not None:
        _validate_imu(imu, t[0], t[-1], icsv)


def _validate_imu(imu: np.ndarray, t0: float, t1: float, file: str) -> None:
    """IMU checks: finite, ordered, plausible units and rate, covers frame span [t0, t1]."""
    if imu.ndim != 2 or imu.shape[1] != 7:
        raise ClipError(f"{file}: expected (N,7) t_ms,ax,ay,az,gx,gy,gz, got {imu.shape}")
    if len(imu) < MIN_IMU_SAMPLES:
        raise ClipError(f"{file}: {len(imu)} samples, need at least {MIN_IMU_SAMPLES}")
    _check_finite(imu, file, IMU_HEADER)
    ts = imu[:, 0]
    back = np.flatnonzero(np.diff(ts) < 0)
    if back.size:
        r = int(back[0]) + 1
        raise ClipError(f"{file}: row {r + 1}: t_ms {ts[r]} is before previous {ts[r - 1]}")
    for c, limit, unit, hint in ((1, MAX_ACC, "m/s²", "16 g"), (4, MAX_GYRO, "rad/s", "deg/s?")):
        big = np.argwhere(np.abs(imu[:, c : c + 3]) > limit)
        if big.size:
            r, k = int(big[0, 0]), c + int(big[0, 1])
            raise ClipError(
                f"{file}: row {r + 1}: {IMU_HEADER[k]} = {imu[r, k]:g} exceeds "
                f"±{limit:g} {unit} ({hint})"
            )
    span = ts[-1] - ts[0]
    hz = (len(ts) - 1) * 1000.0 / span if span > 0 else math.inf
    if not MIN_IMU_HZ <= hz <= MAX_IMU_HZ:
        raise ClipError(
            f"{file}: sample rate {hz:.3g} Hz outside {MIN_IMU_HZ:g}..{MAX_IMU_HZ:g} (t_ms in ms?)"
        )
    tol = max(COVERAGE_TOL_MS, float(np.median(np.diff(ts))))
    if ts[0] > t0 + tol or ts[-1] < t1 - tol:
        raise ClipError(
            f"{file}: samples span {ts[0]:.1f}..{ts[-1]:.1f} ms but frames span "
            f"{t0:.1f}..{t1:.1f} ms (tolerance {tol:.0f} ms; same clock?)"
        )


def _json_default(o: Any) -> Any:
    """Let meta carry numpy scalars and arrays."""
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"meta value of type {type(o).__name__} is not JSON serialisable")


def write_clip(
    path: str | os.PathLike[str],
    clip: Clip,
    jpeg_quality: int = 90,
    image_format: str = "jpg",
    overwrite: bool = False,
) -> Path:
    """Write `clip` in the contract layout, deterministically and atomically; returns the path.

    The clip is validated first. Files are written into a temporary sibling directory that
    is renamed onto `path`, so a crash never leaves a half-written clip. An existing
    non-empty `path` is an error unless `overwrite`.
    """
    target = Path(path)
    validate_clip(clip, source=str(target))
    fmt = image_format.lower().lstrip(".")
    if fmt not in ("jpg", "png"):
        raise ValueError(f"image_format must be 'jpg' or 'png', not {image_format!r}")
    if target.exists() and not overwrite and (not target.is_dir() or any(target.iterdir())):
        raise FileExistsError(f"{target}: already exists")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        (tmp / "frames").mkdir()
        for i, frame in enumerate(clip.frames):
            im = Image.fromarray(np.ascontiguousarray(frame))
            if fmt == "jpg":
                im.save(tmp / "frames" / f"{i:05d}.jpg", "JPEG", quality=jpeg_quality)
            else:
                im.save(tmp / "frames" / f"{i:05d}.png", "PNG")
        rows = "".join(f"{i},{t:.3f}\n" for i, t in enumerate(clip.frame_t_ms))
        (tmp / "frames.csv").write_text("index,t_ms\n" + rows, encoding="utf-8", newline="\n")
        if clip.imu is not None:
            lines = [f"{r[0]:.3f}," + ",".join(f"{v:.6g}" for v in r[1:]) for r in clip.imu]
            text = ",".join(IMU_HEADER) + "\n" + "".join(ln + "\n" for ln in lines)
            (tmp / "imu.csv").write_text(text, encoding="utf-8", newline="\n")
        if clip.meta:
            js = json.dumps(clip.meta, indent=2, sort_keys=True, default=_json_default)
            (tmp / "meta.json").write_text(js + "\n", encoding="utf-8", newline="\n")
        os.chmod(tmp, 0o755)  # mkdtemp makes it 0700; a clip dir should look like any other
        if target.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            os.replace(target, trash / "old")
            os.replace(tmp, target)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
