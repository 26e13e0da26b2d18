"""The one preprocessing path from a Clip to model inputs: pure numpy, deterministic, no I/O."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from liveness.clip import Clip
from liveness.config import GRAVITY, PreprocessConfig

LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # BT.601 luma weights of R, G, B

# Grey-world gains are clamped to this factor either way: a crop that is one colour (a face
# filling it, a coloured wall) must not be pushed to grey.
WB_MAX_GAIN = 2.0

# Reflecting the device x axis (x -> -x) flips ax; the gyroscope is a pseudovector
# (ω -> det(M)·M·ω with M = diag(-1, 1, 1)), so gx stays and gy, gz flip.
MIRROR_IMU_SIGNS = np.array([-1.0, 1.0, 1.0, 1.0, -1.0, -1.0], dtype=np.float32)


def select_frame_indices(t_ms: np.ndarray, num_frames: int, shift: float = 0.0) -> np.ndarray:
    """Pick `num_frames` frames by time: targets evenly spaced over [t_first, t_last].

    Each target takes the nearest frame (the earlier one on a tie), so a clip with fewer
    frames than `num_frames` repeats frames. `shift` in [-0.5, 0.5] moves every target by
    that fraction of the target spacing (targets clamped to the clip) for training-time
    temporal jitter; 0 is the deterministic evaluation choice. Returns (num_frames,) int64,
    non-decreasing, first 0 and last T-1 when shift is 0.
    """
    t = np.asarray(t_ms, dtype=np.float64)  # (T,) strictly increasing
    if t.ndim != 1 or len(t) == 0:
        raise ValueError(f"t_ms must be a non-empty 1-D array, got shape {t.shape}")
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    if not -0.5 <= shift <= 0.5:
        raise ValueError(f"shift must be in [-0.5, 0.5], got {shift}")
    if len(t) == 1:
        return np.zeros(num_frames, dtype=np.int64)
    span = t[-1] - t[0]
    if num_frames == 1:
        targets = np.array([t[0] + 0.5 * span])
    else:
        step = span / (num_frames - 1)
        targets = t[0] + (np.arange(num_frames) + shift) * step  # (num_frames,)
    targets = np.clip(targets, t[0], t[-1])
    right = np.clip(np.searchsorted(t, targets), 1, len(t) - 1)  # first t >= target
    left = right - 1
    take_right = (t[right] - targets) < (targets - t[left])
    return np.where(take_right, right, left).astype(np.int64)


FACE_CROP_MIN = 0.4  # the face cut's smallest side, of min(W, H): a tiny box is not zoomed past


def median_box(boxes: list[tuple[float, float, float, float]]) -> tuple[float, ...] | None:
    """The coordinate-wise median of (x0, y0, x1, y1) boxes (one per probed frame); None if none."""
    return tuple(float(v) for v in np.median(np.asarray(boxes, float), axis=0)) if boxes else None


def face_square(
    box: tuple[float, ...] | None, h: int, w: int, cfg: PreprocessConfig
) -> tuple[int, int, int] | None:
    """(top, left, side) px of the cut about the face (PreprocessConfig.face_crop), inside the
    (h, w) frame; None for the central square (face_crop 0 or no box)."""
    if not cfg.face_crop or box is None:
        return None
    x0, y0, x1, y1 = box
    short = min(h, w)
    frac = float(np.clip((x1 - x0) / short / cfg.face_crop, FACE_CROP_MIN, 1.0))
    side = int(np.clip(round(frac * short), 1, short))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left = int(np.clip(round(cx - side / 2), 0, w - side))
    top = int(np.clip(round(cy - side / 2), 0, h - side))
    return top, left, side


def crop_resize(
    frame: np.ndarray, cfg: PreprocessConfig, square: tuple[int, int, int] | None = None
) -> np.ndarray:
    """Central square of side crop_scale·min(W, H) (or `square`, (top, left, side) px: the cut
    about the face, face_square), resized (antialiased bilinear) to S×S.

    frame: (H, W, 3) uint8 -> (S, S, 3) uint8 with S = cfg.image_size. A crop that is
    already S×S is returned unchanged (no resampling), which the dataset cache relies on.
    """
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"frame must be (H, W, 3) uint8, got {frame.dtype} {frame.shape}")
    h, w = frame.shape[:2]
    if square is not None:
        top, left, side = square
    else:
        side = int(np.clip(round(cfg.crop_scale * min(h, w)), 1, min(h, w)))
        top, left = (h - side) // 2, (w - side) // 2
    crop = np.ascontiguousarray(frame[top : top + side, left : left + side])
    s = cfg.image_size
    if side == s:
        return crop
    # Pillow's BILINEAR widens its kernel when downscaling, i.e. it antialiases.
    img = Image.fromarray(crop).resize((s, s), Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.uint8)


def white_balance(video: np.ndarray) -> np.ndarray:
    """Grey-world white balance of a clip: one gain per channel so that the clip's mean colour
    is grey at its own luma (BT.601), the same gains for every frame.

    video: (T, H, W, 3) uint8 RGB -> same shape uint8. Why: a camera's white balance and the
    room's light move the whole frame's colour, and a network trained on one renderer reads
    that cast as liveness (docs/MODEL.md, "Colour"). What is left is each pixel's colour
    relative to its clip: a print's duller ink, a screen's bluer white beside the room.
    Saturated pixels (any channel >= 250) do not count toward the means; gains are clamped to
    [1 / WB_MAX_GAIN, WB_MAX_GAIN]. Applied as one lookup table per channel.
    """
    import cv2

    if video.ndim != 4 or video.shape[-1] != 3 or video.dtype != np.uint8:
        raise ValueError(f"video must be (T, H, W, 3) uint8, got {video.dtype} {video.shape}")
    t, h, w, _ = video.shape
    rows = np.ascontiguousarray(video).reshape(t * h, w, 3)  # frames stacked: one image
    brightest = np.maximum(np.maximum(rows[..., 0], rows[..., 1]), rows[..., 2])  # (T·H, W)
    keep = (brightest < 250).astype(np.uint8)
    if int(keep.sum()) < 16:  # a blown-out clip: nothing to measure the cast on
        return video
    means = np.array(cv2.mean(rows, mask=keep)[:3], dtype=np.float64)  # (3,) R, G, B
    luma = float(means @ LUMA.astype(np.float64))
    gains = np.clip(luma / np.maximum(means, 1.0), 1.0 / WB_MAX_GAIN, WB_MAX_GAIN)  # (3,)
    levels = np.arange(256, dtype=np.float64)[:, None]  # (256, 1)
    luts = np.clip(np.rint(levels * gains[None, :]), 0, 255).astype(np.uint8)  # (256, 3)
    return cv2.LUT(rows, luts.reshape(256, 1, 3)).reshape(video.shape)


def normalise_accel_sign(imu: np.ndarray) -> tuple[np.ndarray, bool]:
    """The contract's accelerometer sign, from physics: a phone held up for a selfie reads
    gravity along +y (CONTRACT.md). Browser families have been reported to disagree on the sign
    of accelerationIncludingGravity (iOS Safari vs Android Chrome); a capture whose mean reading
    points along −y by more than half of g is flipped (all three axes). Returns (imu, flipped).
    The gyroscope is left alone: rotationRate's axes and signs agree across the families."""
    mean = imu[:, 1:4].mean(axis=0)
    if mean[1] < -0.5 * GRAVITY and abs(mean[1]) >= np.abs(mean).max() - 1e-9:
        out = imu.copy()
        out[:, 1:4] *= -1.0
        return out, True
    return imu, False


def resample_imu(imu: np.ndarray, frame_times_ms: np.ndarray, cfg: PreprocessConfig) -> np.ndarray:
    """Resample IMU (N, 7) [t_ms, ax..gz] onto the selected frames: (T, K, 6) float32.

    K = cfg.imu_per_frame samples per frame step. With dt the mean interval of the T
    frame times, sample k of step i is at t_i - (K-1-k)/K·dt, so the last one lands on t_i.
    Channels are linearly interpolated (held constant beyond the ends), then accelerometer
    is divided by cfg.acc_scale and gyroscope by cfg.gyro_scale.
    """
    imu = np.asarray(imu, dtype=np.float64)
    if imu.ndim != 2 or imu.shape[1] != 7 or len(imu) == 0:
        raise ValueError(f"imu must be (N, 7) with N >= 1, got {imu.shape}")
    ts, xs = imu[:, 0], imu[:, 1:]  # (N,), (N, 6)
    uniq, inv = np.unique(ts, return_inverse=True)
    if len(uniq) < len(ts):
        # Repeated timestamps (allowed by the contract) are averaged: np.interp needs
        # strictly increasing sample times.
        counts = np.bincount(inv)
        xs = np.stack([np.bincount(inv, weights=xs[:, c]) / counts for c in range(6)], axis=1)
        ts = uniq
    ft = np.asarray(frame_times_ms, dtype=np.float64)  # (T,)
    k = cfg.imu_per_frame
    dt = (ft[-1] - ft[0]) / (len(ft) - 1) if len(ft) > 1 else 0.0
    offsets = (np.arange(k) - (k - 1)) / k * dt  # (K,) from -(K-1)/K·dt up to 0
    times = (ft[:, None] + offsets[None, :]).ravel()  # (T·K,)
    out = np.stack([np.interp(times, ts, xs[:, c]) for c in range(6)], axis=-1)
    out = out.reshape(len(ft), k, 6)
    out[..., :3] /= cfg.acc_scale
    out[..., 3:] /= cfg.gyro_scale
    return out.astype(np.float32)


def preprocess_clip(
    clip: Clip,
    cfg: PreprocessConfig,
    shift: float = 0.0,
    face_box: tuple[float, ...] | None = None,
) -> dict[str, Any]:
    """THE path from a clip to model inputs (dataset, CLI and server all call this).

    Returns video (T, S, S, 3) uint8 (white-balanced if cfg.white_balance), imu (T, K, 6)
    float32 (zeros without IMU), imu_present bool, frame_t_ms (T,) float64 and frame_indices
    (T,) int64 of the chosen frames, with T = cfg.num_frames. `shift` is training-time jitter (see
    select_frame_indices); leave it 0 for inference. `face_box` (x0, y0, x1, y1) px, the face
    check's (median_box), places the cut when cfg.face_crop asks for one (one cut for every
    frame, so the network still sees the face move).
    """
    idx = select_frame_indices(clip.frame_t_ms, cfg.num_frames, shift)
    square = face_square(face_box, clip.frames.shape[1], clip.frames.shape[2], cfg)
    done: dict[int, np.ndarray] = {}  # repeated frames are cropped once
    for i in idx.tolist():
        if i not in done:
            done[i] = crop_resize(clip.frames[i], cfg, square)
    video = np.stack([done[i] for i in idx.tolist()])  # (T, S, S, 3)
    if cfg.white_balance:
        video = white_balance(video)
    frame_t = np.asarray(clip.frame_t_ms, dtype=np.float64)[idx]
    flipped = False
    if clip.imu is not None:
        raw, flipped = normalise_accel_sign(clip.imu)
        imu = resample_imu(raw, frame_t, cfg)
    else:
        imu = np.zeros((cfg.num_frames, cfg.imu_per_frame, 6), dtype=np.float32)
    return {
        "video": video,
        "imu": imu,
        "imu_present": clip.imu is not None,
        "accel_flipped": flipped,
        "frame_t_ms": frame_t,
        "frame_indices": idx,
    }


def video_to_model(video: np.ndarray, channels_last: bool = False) -> np.ndarray:
    """uint8 frames (..., H, W, C) -> the model's float32 input (..., C, H, W) in [0, 1].

    Takes (N, T, H, W, C) batches and single (T, H, W, C) clips alike. The result is a
    transposed view of a contiguous channels-last array (the strides torch's permute gives);
    wrap it in np.ascontiguousarray where a runtime needs contiguous memory.
    `channels_last=True` keeps (..., H, W, C): the exported TFLite files' layout.
    """
    x = np.ascontiguousarray(video).astype(np.float32) / 255.0
    return x if channels_last else np.moveaxis(x, -1, -3)


def mirror_clip_arrays(video: np.ndarray, imu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mirror a clip left-right with the physically matching IMU reflection.

    video (T, H, W, C): columns reversed (image u runs along device -x, so this is x -> -x).
    imu (..., 6) [ax, ay, az, gx, gy, gz]: multiplied by MIRROR_IMU_SIGNS. Returns copies.
    """
    if imu.shape[-1] != 6:
        raise ValueError(f"imu must end in 6 channels, got {imu.shape}")
    flipped = np.ascontiguousarray(video[:, :, ::-1])
    return flipped, (imu * MIRROR_IMU_SIGNS).astype(imu.dtype)
