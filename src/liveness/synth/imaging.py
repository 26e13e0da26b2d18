"""The phone camera's imaging chain: exposure, white balance, blur, noise, tone curve, 8 bits."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass
class CameraModel:
    """One capture's sensor and ISP settings; develop() turns scene radiance into a frame."""

    gain: float  # exposure × ISO, on linear radiance
    ae_rate: float  # how fast auto-exposure drifts, 1/s
    ae_phase: float
    wb: np.ndarray  # (3,) white-balance error
    vignette: float
    defocus: float  # Gaussian σ in pixels
    exposure_s: float  # shutter time: sets the length of motion blur
    shot: float  # shot-noise scale (variance ∝ signal)
    read: float  # read-noise σ
    contrast: float
    target: float = 0.18  # auto-exposure's mid-grey target (linear)
    # Set: above this gain the sensor's ISO is raised: shot-noise variance and read-noise σ
    # grow ∝ gain (what a dim scene looks like). None: noise independent of the gain.
    iso_ref: float | None = None

    @staticmethod
    def sample(rng: np.random.Generator) -> CameraModel:
        return CameraModel(
            gain=rng.uniform(1.2, 2.2),
            ae_rate=rng.uniform(0.0, 0.15),
            ae_phase=rng.uniform(0, 2 * np.pi),
            wb=rng.uniform(0.92, 1.08, 3),
            vignette=rng.uniform(0.0, 0.35),
            defocus=rng.uniform(0.2, 0.9),
            exposure_s=rng.uniform(0.004, 0.033),
            shot=rng.uniform(0.0005, 0.006),
            read=rng.uniform(0.002, 0.012),
            contrast=rng.uniform(0.9, 1.15),
            target=rng.uniform(0.12, 0.3),
        )

    def auto_expose(self, radiance: np.ndarray) -> None:
        """Set the gain so the centre of the first frame lands at mid-grey (as a phone's AE)."""
        h, w, _ = radiance.shape
        centre = radiance[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4].mean()
        self.gain = float(np.clip(self.target / max(centre, 1e-4), 0.3, 8.0))

    def develop(
        self, radiance: np.ndarray, t: float, blur_px: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """(H, W, 3) linear radiance at time t -> (H, W, 3) uint8 sRGB-like frame.

        blur_px: (2,) image displacement (du, dv) in pixels during the exposure.
        """
        img = motion_blur(radiance, blur_px)
        img = gaussian_blur(img, self.defocus)
        gain = self.gain * (1 + self.ae_rate * np.sin(2 * np.pi * 0.5 * t + self.ae_phase))
        img = img * (gain * _vignette(img.shape[0], img.shape[1], self.vignette))[..., None]
        img = img * self.wb.astype(np.float32)
        img = np.clip(img, 0, None)
        if self.iso_ref is None:
            noise = np.sqrt(self.shot * img + self.read**2)
        else:
            k = max(1.0, self.gain / self.iso_ref)
            noise = np.sqrt(self.shot * k * img + (self.read * k) ** 2)
        noise = noise * rng.standard_normal(img.shape, np.float32)
        img = np.clip(img + noise, 0, 1)
        out = np.power(img, 1 / 2.2)
        out = np.clip(0.5 + (out - 0.5) * self.contrast, 0, 1)
        return np.round(out * 255).astype(np.uint8)


@lru_cache(maxsize=16)
def _radius2(h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return ((xx - w / 2) ** 2 + (yy - h / 2) ** 2) / (0.25 * (w**2 + h**2))


def _vignette(h: int, w: int, strength: float) -> np.ndarray:
    return 1 - strength * _radius2(h, w)


def gaussian_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of (H, W, C) with edge replication."""
    if sigma < 0.1:
        return img
    r = max(1, int(np.ceil(2.5 * sigma)))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    pad = np.pad(img, ((r, r), (0, 0), (0, 0)), mode="edge")
    img = np.asarray(sum(k[i] * pad[i : i + img.shape[0]] for i in range(2 * r + 1)))
    pad = np.pad(img, ((0, 0), (r, r), (0, 0)), mode="edge")
    return np.asarray(sum(k[i] * pad[:, i : i + img.shape[1]] for i in range(2 * r + 1)))


def shift(img: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """Integer translation of (H, W, C) with edge replication."""
    h, w = img.shape[:2]
    ys = np.clip(np.arange(h) - dy, 0, h - 1)
    xs = np.clip(np.arange(w) - dx, 0, w - 1)
    return img[ys][:, xs]


def motion_blur(img: np.ndarray, blur_px: np.ndarray) -> np.ndarray:
    """Average of copies along the exposure's displacement (a box kernel along a line)."""
    length = float(np.hypot(*blur_px))
    n = int(np.ceil(length))
    if n < 1:
        return img
    offsets = np.linspace(-0.5, 0.5, n + 1)[:, None] * blur_px[None]
    return np.mean([shift(img, round(dx), round(dy)) for dx, dy in offsets], axis=0)


def jpeg_quality(rng: np.random.Generator, lo: int, hi: int) -> int:
    return int(rng.integers(lo, hi + 1))
