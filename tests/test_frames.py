"""The one frame decoder: OpenCV's fast path gives Pillow's pixels; everything else is Pillow's."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from liveness.frames import decode_rgb


def _scene(h: int = 64, w: int = 48, seed: int = 0) -> np.ndarray:
    """A textured RGB frame: smooth gradients plus noise, so chroma subsampling matters."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 / w, y * 255 / h, (x + y) * 127 / (h + w)], -1)
    return np.clip(base + rng.normal(0, 25, (h, w, 3)), 0, 255).astype(np.uint8)


def _encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _pillow(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


@pytest.mark.parametrize(
    "kw",
    [
        {"quality": 85},  # 4:2:0, what browsers send
        {"quality": 95, "subsampling": 0},  # 4:4:4
        {"quality": 70, "progressive": True},
    ],
)
def test_jpeg_fast_path_gives_pillows_pixels(kw: dict[str, object]) -> None:
    data = _encode(Image.fromarray(_scene()), "JPEG", **kw)
    got = decode_rgb(data, "JPEG")
    assert got.shape == (64, 48, 3) and got.dtype == np.uint8
    np.testing.assert_array_equal(got, _pillow(data))


def test_png_rgb_is_lossless() -> None:
    frame = _scene(seed=1)
    np.testing.assert_array_equal(decode_rgb(_encode(Image.fromarray(frame), "PNG"), "PNG"), frame)


def test_16_bit_png_keeps_the_high_byte_as_pillow_does() -> None:
    """Pillow opens a 48-bit PNG as "RGB", so it takes the fast path: OpenCV must reduce it to
    8 bits the way Pillow does (the high byte)."""
    import cv2

    img16 = (np.random.default_rng(3).random((40, 30, 3)) * 65535).astype(np.uint16)
    ok, buf = cv2.imencode(".png", img16[..., ::-1])
    assert ok
    data = buf.tobytes()
    got = decode_rgb(data, "PNG")
    np.testing.assert_array_equal(got, _pillow(data))
    np.testing.assert_array_equal(got, (img16 >> 8).astype(np.uint8))


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK"])
def test_other_modes_are_converted_as_pillow_does(mode: str) -> None:
    img = Image.fromarray(_scene(seed=2)).convert(mode)
    fmt = "JPEG" if mode in ("L", "CMYK") else "PNG"
    data = _encode(img, fmt)
    np.testing.assert_array_equal(decode_rgb(data, fmt), _pillow(data))


def test_exif_orientation_is_not_applied() -> None:
    """A rotate-90 EXIF tag must not turn a 48x64 frame into 64x48: the contract's axes are
    the stored pixels' axes."""
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display
    data = _encode(Image.fromarray(_scene()), "JPEG", exif=exif.tobytes())
    got = decode_rgb(data, "JPEG")
    assert got.shape == (64, 48, 3)
    np.testing.assert_array_equal(got, _pillow(data))


def test_truncated_jpeg_raises_pillows_error() -> None:
    data = _encode(Image.fromarray(_scene(128, 96)), "JPEG", quality=90)
    with pytest.raises(OSError, match="truncated"):
        decode_rgb(data[: len(data) // 2], "JPEG")


def test_rgb_frames_take_the_opencv_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The equality tests above would also pass through Pillow alone: check which decoder ran."""
    import cv2

    calls: list[int] = []
    real = cv2.imdecode

    def counting(buf: np.ndarray, flags: int) -> np.ndarray | None:
        calls.append(flags)
        return real(buf, flags)

    monkeypatch.setattr(cv2, "imdecode", counting)
    decode_rgb(_encode(Image.fromarray(_scene()), "JPEG"), "JPEG")
    assert len(calls) == 1 and calls[0] & cv2.IMREAD_IGNORE_ORIENTATION
    decode_rgb(_encode(Image.fromarray(_scene()).convert("L"), "JPEG"), "JPEG")
    assert len(calls) == 1  # greyscale: Pillow's conversion, not OpenCV's
