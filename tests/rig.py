"""A rotation-only camera rig for physics tests: exact frames and the gyro of the same motion.

A camera that only rotates sees a distant textured scene; every frame is the exact homography
A·Rᵀ·A⁻¹ of one wide canvas, with A the contract's projection (u along −x, v along −y), and the
gyro reads the same angular velocity.
"""

from __future__ import annotations

import cv2
import numpy as np

from liveness.motion import focal_px
from liveness.synth.geometry import rotvec_to_matrix

W, H, HFOV = 240, 320, 65.0
F = focal_px(W, HFOV)
MARGIN = 160  # canvas border: room for the view to turn


def projection(cx: float, cy: float) -> np.ndarray:
    """Pixel ∝ A · ray, with the contract's image axes (u along −x, v along −y)."""
    return np.array([[-F, 0.0, cx], [0.0, -F, cy], [0.0, 0.0, 1.0]])


def canvas(seed: int) -> np.ndarray:
    """A textured far wall seen by the rig at rest, with room around it (uint8 RGB)."""
    rng = np.random.default_rng(seed)
    noise = rng.random((H + 2 * MARGIN, W + 2 * MARGIN)).astype(np.float32)
    img = cv2.GaussianBlur(noise, (0, 0), 2.0)
    img = (img - img.min()) / (img.max() - img.min())
    return np.repeat((255 * img).astype(np.uint8)[..., None], 3, axis=-1)


def render(big: np.ndarray, rots: np.ndarray) -> np.ndarray:
    """Frames (T, H, W, 3) of the canvas seen after device rotations rots (T, 3, 3) (dev->world,
    world = the device at rest): pixel_t ∝ A Rᵀ A_c⁻¹ canvas pixel."""
    a = projection(W / 2, H / 2)
    a_c_inv = np.linalg.inv(projection(W / 2 + MARGIN, H / 2 + MARGIN))
    out = [cv2.warpPerspective(big, a @ r.T @ a_c_inv, (W, H), flags=cv2.INTER_CUBIC) for r in rots]
    return np.stack(out)


def omega(t: np.ndarray, seed: int, tremor: float = 1.0) -> np.ndarray:
    """Angular velocity (N, 3) rad/s of a hand-held move: a slow turn, sway and tremor."""
    rng = np.random.default_rng(seed)
    slow = np.radians(12.0) * np.sin(np.pi * t / 2.0)[:, None] * rng.normal(0, 1, 3)
    out = slow * np.array([1.0, 1.0, 0.3])
    for f_lo, f_hi, amp in ((0.8, 2.5, 4.0), (3.0, 7.0, tremor * 3.0)):
        freq, ph = rng.uniform(f_lo, f_hi, 3), rng.uniform(0, 2 * np.pi, 3)
        out = out + np.radians(amp) * np.sin(2 * np.pi * freq[None] * t[:, None] + ph)
    return out


def capture(seed: int, fps: float = 15.0, imu_hz: float = 100.0, stabilise: bool = False):
    """(frames, frame_t_ms, imu) of one rig capture; `stabilise` removes the sway and tremor
    from the image (not from the gyro), as electronic stabilisation would."""
    dt = 1e-3
    t = np.arange(0.0, 2.2, dt)
    w = omega(t, seed)
    w_img = omega(t, seed, tremor=0.0) if stabilise else w
    if stabilise:  # keep only the slow turn and a little sway
        k = np.exp(-0.5 * (np.arange(-200, 201) / 80.0) ** 2)
        w_img = np.column_stack([np.convolve(w_img[:, j], k / k.sum(), "same") for j in range(3)])
    rots = [np.eye(3)]
    for x in w_img[:-1]:
        rots.append(rots[-1] @ rotvec_to_matrix(x * dt))  # body-frame rates
    rots_arr = np.array(rots)
    ft = np.arange(0.05, 2.1, 1.0 / fps)
    frames = render(canvas(seed), rots_arr[np.round(ft / dt).astype(int)])
    it = np.arange(0.0, 2.2, 1.0 / imu_hz)
    gyro = w[np.round(it / dt).astype(int).clip(0, len(t) - 1)]
    acc = np.tile([0.0, 9.81, 0.0], (len(it), 1))
    imu = np.column_stack([1000 * it, acc, gyro])
    return frames, 1000 * ft, imu
