"""Training-time camera-pipeline augmentation: what other cameras do to every class alike.

The generator renders one camera chain (its blur, JPEG range, white balance, tone curve), so a
network can learn "soft or off-colour means attack" from it: prints and replays are the softer,
paler captures there. A real camera that is soft (a small sensor scaled up), compresses hard or
misjudges the light then looks like an attack (docs/MODEL.md, "Other cameras' pipelines":
halving the resolution refused 75 % of genuine captures). Applying those changes to live and
attack clips alike, at random, takes the cue away. One draw per clip, the same for all its
frames, so temporal cues (flicker, moiré changes, blinks) survive.

All functions take and return (T, S, S, 3) uint8 RGB crops, the model's input before
normalisation (liveness.preprocess.video_to_model).
"""

from __future__ import annotations

import numpy as np

from liveness.preprocess import LUMA  # BT.601 luma weights of R, G, B

# Ranges, each drawn uniformly per clip (log-uniform for scale factors).
SOFT_SCALE = (0.35, 1.0)  # resolution kept before scaling back: 0.35 = a 34-px face square
JPEG_QUALITY = (20, 95)  # the generator's own range is 50–95
CHANNEL_GAIN = 0.2  # white balance: each channel × [1 − g, 1 + g]
SATURATION = (0.5, 1.3)  # colour toward grey (< 1) or away from it
GAMMA = 0.5  # tone curve exponent in [exp(−g), exp(g)]


def soften(video: np.ndarray, scale: float) -> np.ndarray:
    """Down to `scale` of the side (area average), back up (bilinear): less resolution."""
    import cv2

    if scale >= 1.0:
        return video
    s = video.shape[1]
    small = max(4, round(s * scale))
    return np.stack([
        cv2.resize(cv2.resize(f, (small, small), interpolation=cv2.INTER_AREA), (s, s),
                   interpolation=cv2.INTER_LINEAR)
        for f in video
    ])  # fmt: skip


def recompress(video: np.ndarray, quality: int) -> np.ndarray:
    """Every frame through JPEG at `quality` (OpenCV's encoder, 4:2:0)."""
    import cv2

    out = []
    for f in video:
        ok, buf = cv2.imencode(".jpg", f[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
        back = cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else None
        out.append(f if back is None else back[..., ::-1])
    return np.ascontiguousarray(np.stack(out))


def recolour(
    video: np.ndarray,
    gains: np.ndarray,
    saturation: float,
    gamma: float,
    levels: tuple[float, float] = (0.0, 1.0),
) -> np.ndarray:
    """Per-channel gains (3,), saturation about the luma, the black and white points moved to
    `levels` (lo, hi): v -> (v - lo) / (hi - lo), clipped (lo > 0, hi < 1 stretch, as full-range
    video read as limited range does; the reverse flattens), then a tone curve. One 256-entry
    table per channel would not do saturation, so this works in float."""
    v = video.astype(np.float32) / 255.0
    v = v * gains.astype(np.float32)
    y = v @ LUMA
    v = y[..., None] + saturation * (v - y[..., None])
    lo, hi = levels
    if (lo, hi) != (0.0, 1.0):
        v = (v - np.float32(lo)) / np.float32(hi - lo)
    v = np.power(np.clip(v, 0.0, 1.0), gamma, dtype=np.float32)
    return (v * 255.0 + 0.5).astype(np.uint8)


def camera_pipeline(
    video: np.ndarray, rng: np.random.Generator, p: float, levels: float = 0.0
) -> np.ndarray:
    """Each of the three changes (soften, recolour, recompress, in a camera's order) applied
    with probability p, one draw of its strength per clip. p = 0 returns the input.
    levels > 0: the recolouring also moves the black and white points, each by up to that
    share of the range either way (0.08 covers 16–235 read as 0–255); 0 draws nothing for it,
    so the random stream, and a recipe without it, stay as they were."""
    if p <= 0:
        return video
    if rng.random() < p:
        lo, hi = np.log(SOFT_SCALE[0]), np.log(SOFT_SCALE[1])
        video = soften(video, float(np.exp(rng.uniform(lo, hi))))
    if rng.random() < p:
        gains = rng.uniform(1 - CHANNEL_GAIN, 1 + CHANNEL_GAIN, 3)
        sat = float(rng.uniform(*SATURATION))
        gamma = float(np.exp(rng.uniform(-GAMMA, GAMMA)))
        lv = (0.0, 1.0)
        if levels > 0:
            lv = (float(rng.uniform(-levels, levels)), 1.0 + float(rng.uniform(-levels, levels)))
        video = recolour(video, gains, sat, gamma, lv)
    if rng.random() < p:
        video = recompress(video, int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1)))
    return video
