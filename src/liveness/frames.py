"""Image bytes -> (H, W, 3) uint8 RGB: the one frame decoder for clips on disk and uploads.

Pillow reads the header (type, size, mode: cheap, before any pixel is decoded); OpenCV decodes
the common case, 8-bit RGB JPEG or PNG, ~1.4x faster than Pillow with the same pixels (both
are libjpeg-turbo with its defaults; tests/test_frames.py holds them equal). Anything else
(greyscale, palette, alpha, CMYK, 16-bit), and anything OpenCV refuses, goes through Pillow,
so its conversions and its error messages ("image file is truncated") are the ones users see.
"""

from __future__ import annotations

import functools
import io

import numpy as np
from PIL import Image

# Pillow's header mode for which OpenCV's 3-channel decode gives Pillow's pixels exactly.
_FAST_MODES = {"RGB"}


@functools.cache
def _imread_flags() -> int:
    """Colour, 8-bit, and never EXIF-rotated: rotating would change the frame's size and the
    contract's axes (Pillow does not rotate either)."""
    import cv2  # heavy: import only when needed

    return int(cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)


def decode_rgb(data: bytes, fmt: str, mode: str | None = None) -> np.ndarray:
    """Encoded `fmt` ("JPEG" or "PNG") bytes -> (H, W, 3) uint8 RGB.

    `mode` is the header's Pillow mode when the caller already read it (None: read it here).
    Raises what Pillow raises for data it cannot decode (OSError, SyntaxError, ValueError,
    Image.DecompressionBombError); callers turn that into their own error.
    """
    if mode is None:
        with Image.open(io.BytesIO(data), formats=[fmt]) as im:
            mode = im.mode
    if mode in _FAST_MODES:
        import cv2

        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), _imread_flags())
        if bgr is not None and bgr.ndim == 3 and bgr.dtype == np.uint8:
            return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)  # (H, W, 3)
    # Other modes, or data OpenCV refused: Pillow decodes it or says why it cannot.
    with Image.open(io.BytesIO(data), formats=[fmt]) as im:
        return np.asarray(im if im.mode == "RGB" else im.convert("RGB"))
