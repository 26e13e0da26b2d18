"""PyTorch dataset over a manifest split: preprocess_clip plus training-time augmentation."""

from __future__ import annotations

import dataclasses
import math
import os

import numpy as np
import torch
from torch.utils.data import Dataset

from liveness.augment import camera_pipeline
from liveness.clip import Clip, read_clip
from liveness.config import PreprocessConfig
from liveness.manifest import SPLITS, ManifestRow, manifest_path, read_manifest
from liveness.preprocess import (
    crop_resize,
    mirror_clip_arrays,
    preprocess_clip,
    video_to_model,
    white_balance,
)

ATTACKS = ("none", "print", "replay", "injection")  # index = the `attack` target

# Photometric jitter ranges (training only), one draw per clip so that temporal cues
# (flicker, pulse, moiré changes) are not disturbed frame to frame.
BRIGHTNESS = 0.08  # additive, on [0, 1] intensities
CONTRAST = 0.15  # factor in [1 - c, 1 + c] about the clip's mean
GAMMA = 0.15  # exponent in [exp(-g), exp(g)]
MIRROR_P = 0.5


class ClipDataset(Dataset[dict[str, torch.Tensor]]):
    """Clips of one split of a dataset, as tensors ready for the model.

    Items: video float32 (T, 3, S, S) in [0, 1]; imu float32 (T, K, 6); imu_present float32
    scalar (0 or 1); label float32 scalar (1 = live); attack int64 scalar (index into
    ATTACKS). Evaluation (train=False) is deterministic and equals preprocess_clip exactly.
    Training adds temporal jitter, photometric jitter, mirroring with the matching IMU
    reflection and, with probability `imu_dropout`, drops the IMU (zeros, imu_present 0).
    With probability `imu_swap` a live clip's IMU is replaced by motion that did not film it
    (see _mismatched_imu) and the item becomes an injection: the physics-consistency signal.
    With `zoom` (training only) each clip's crop varies in size and place (zoom_crop); with
    `camera_aug` it is softened, recoloured and recompressed as other cameras would
    (liveness.augment.camera_pipeline, each change with that probability; `camera_levels` also
    moves the black and white points).
    Random draws come from torch's generator, so torch.manual_seed and DataLoader worker
    seeding make them reproducible and distinct per worker.

    With cache=True each clip is decoded once and kept already cropped to S×S (about
    frames·S²·3 bytes per clip, per worker); results are identical to the uncached path.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str,
        cfg: PreprocessConfig | None = None,
        train: bool = False,
        imu_dropout: float = 0.0,
        cache: bool = False,
        imu_swap: float = 0.0,
        zoom: float = 0.0,
        camera_aug: float = 0.0,
        camera_levels: float = 0.0,
        skip_attacks: tuple[str, ...] = (),
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r} (expected {'|'.join(SPLITS)})")
        if not 0.0 <= imu_dropout <= 1.0:
            raise ValueError(f"imu_dropout must be in [0, 1], got {imu_dropout}")
        self.manifest_file = manifest_path(root)
        self.root = self.manifest_file.parent
        unknown = set(skip_attacks) - set(ATTACKS[1:])
        if unknown:
            raise ValueError(f"skip_attacks: {sorted(unknown)} not among {ATTACKS[1:]}")
        # Species left out altogether (train.TrainArgs.skip_attacks: the network is not asked
        # to tell them, another part of the product is).
        self.rows: list[ManifestRow] = [
            r for r in read_manifest(root) if r.split == split and r.attack not in skip_attacks
        ]
        for r in self.rows:
            if r.attack not in ATTACKS:
                raise ValueError(
                    f"{self.manifest_file}: clip {r.clip}: attack {r.attack!r} is not one of "
                    f"{ATTACKS}; extend liveness.dataset.ATTACKS to train on it"
                )
        self.split = split
        self.cfg = cfg if cfg is not None else PreprocessConfig()
        if self.cfg.face_crop:
            raise ValueError("face_crop is a setting of a calibrated model at test time (it needs "
                             "the face check); the dataset cuts the central square")  # fmt: skip
        self.train = train
        self.imu_dropout = imu_dropout
        if not 0.0 <= imu_swap <= 1.0:
            raise ValueError(f"imu_swap must be in [0, 1], got {imu_swap}")
        self.imu_swap = imu_swap
        self._with_imu = [i for i, r in enumerate(self.rows) if r.has_imu]
        if zoom < 0.0:
            raise ValueError(f"zoom must be >= 0, got {zoom}")
        self.zoom = zoom if train else 0.0
        if not 0.0 <= camera_aug <= 1.0:
            raise ValueError(f"camera_aug must be in [0, 1], got {camera_aug}")
        self.camera_aug = camera_aug if train else 0.0
        if not 0.0 <= camera_levels < 0.5:
            raise ValueError(f"camera_levels must be in [0, 0.5), got {camera_levels}")
        self.camera_levels = camera_levels
        # Frames are first cut to the model's crop, S px; with zoom to the whole central square
        # at the size that makes the model's crop S px (zoom_crop then cuts each clip's crop).
        side = self.cfg.image_size
        if self.zoom > 0:
            side = math.ceil(self.cfg.image_size / self.cfg.crop_scale)
        self.cache = cache
        self._cached: dict[int, Clip] = {}
        # Cached frames are already cut; crop_scale 1 at their size makes the second cut a no-op.
        # White balance comes last, after zoom and the camera augmentation (as a real camera's
        # cast comes before the model's preprocessing), so the cropping configs leave it out.
        self._cached_cfg = dataclasses.replace(
            self.cfg, crop_scale=1.0, image_size=side, white_balance=False
        )
        unbalanced = dataclasses.replace(self.cfg, white_balance=False)
        self._first_cfg = self._cached_cfg if self.zoom > 0 else unbalanced

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def labels(self) -> np.ndarray:
        """(len,) float32, 1 = live: for class-balanced samplers and metrics."""
        return np.array([r.is_live for r in self.rows], dtype=np.float32)

    def _load(self, i: int) -> tuple[Clip, PreprocessConfig]:
        """The clip and the config to preprocess it with (cached clips are pre-cropped)."""
        if i in self._cached:
            return self._cached[i], self._cached_cfg
        row = self.rows[i]
        clip = read_clip(self.root / row.clip)
        if clip.has_imu != row.has_imu:
            raise ValueError(
                f"{self.manifest_file}: clip {row.clip}: has_imu={int(row.has_imu)} but the "
                f"clip {'has' if clip.has_imu else 'lacks'} imu.csv"
            )
        if not self.cache:
            return clip, self._first_cfg
        small = np.stack([crop_resize(f, self._first_cfg) for f in clip.frames])  # (N, S, S, 3)
        self._cached[i] = dataclasses.replace(clip, frames=small)
        return self._cached[i], self._cached_cfg

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        clip, cfg = self._load(i)
        row = self.rows[i]
        rng = None
        if self.train:
            seed = int(torch.randint(0, 2**62, ()).item())
            rng = np.random.default_rng(seed)
        shift = float(rng.uniform(-0.5, 0.5)) if rng is not None else 0.0
        out = preprocess_clip(clip, cfg, shift=shift)
        video_u8: np.ndarray = out["video"]  # (T, S, S, 3) uint8 (with zoom: the squares)
        if rng is not None and self.zoom > 0:
            video_u8 = zoom_crop(video_u8, self.cfg.crop_scale, self.zoom, self.cfg.image_size, rng)
        if rng is not None and self.camera_aug > 0:
            video_u8 = camera_pipeline(video_u8, rng, self.camera_aug, self.camera_levels)
        if self.cfg.white_balance:
            video_u8 = white_balance(video_u8)
        imu: np.ndarray = out["imu"]  # (T, K, 6) float32
        present = bool(out["imu_present"])
        label, attack = float(row.is_live), row.attack
        swapped = rng is not None and present and row.is_live and rng.random() < self.imu_swap
        if swapped:
            assert rng is not None
            imu = self._mismatched_imu(i, imu, rng)
            label, attack = 0.0, "injection"
        if rng is not None and rng.random() < MIRROR_P:
            video_u8, imu = mirror_clip_arrays(video_u8, imu)
        video = video_to_model(video_u8)  # (T, 3, S, S) float32
        if rng is not None:
            video = photometric_jitter(video, rng)
            if present and not swapped and rng.random() < self.imu_dropout:
                imu = np.zeros_like(imu)
                present = False
        return {
            "video": torch.from_numpy(np.ascontiguousarray(video)),
            "imu": torch.from_numpy(np.ascontiguousarray(imu, dtype=np.float32)),
            "imu_present": torch.tensor(float(present), dtype=torch.float32),
            "label": torch.tensor(label, dtype=torch.float32),
            "attack": torch.tensor(ATTACKS.index(attack), dtype=torch.int64),
        }

    def _mismatched_imu(self, i: int, imu: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Motion that did not film this video: what an injection attack sends.

        Half the time another clip's IMU (on that clip's own frame times), half the time this
        clip's IMU played backwards (same sensor, same magnitudes, wrong timing: reversing time
        reverses angular velocity, the accelerometer's gravity stays). A live video paired
        with it is a spoof, and only comparing the two motions can tell.
        """
        others = [j for j in self._with_imu if j != i]
        if others and rng.random() < 0.5:
            j = others[int(rng.integers(len(others)))]
            clip_j, cfg_j = self._load(j)
            return np.asarray(preprocess_clip(clip_j, cfg_j)["imu"])
        rev = imu[::-1, ::-1].copy()
        rev[..., 3:] *= -1.0
        return rev


def zoom_crop(
    squares: np.ndarray, crop_scale: float, zoom: float, size: int, rng: np.random.Generator
) -> np.ndarray:
    """(T, B, B, 3) uint8 central squares -> (T, size, size, 3): one crop for the whole clip, of
    side crop_scale·B·z with z log-uniform in [1/(1 + zoom), 1 + zoom] (at most B), placed
    anywhere that keeps it inside the square. The face comes out larger or smaller than in the
    model's own crop (a narrower or wider camera, nearer or farther) and off-centre, partly cut
    at the edges; the motion across frames is untouched (the same crop for every frame)."""
    import cv2

    b = squares.shape[1]
    z = math.exp(rng.uniform(-math.log1p(zoom), math.log1p(zoom)))
    side = int(min(b, max(8, round(crop_scale * b * z))))
    x0, y0 = (int(rng.integers(0, b - side + 1)) for _ in range(2))
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return np.stack([
        cv2.resize(np.ascontiguousarray(f[y0 : y0 + side, x0 : x0 + side]), (size, size),
                   interpolation=interp)
        for f in squares
    ])  # fmt: skip


def photometric_jitter(video: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Small brightness / contrast / gamma change, one draw for the whole clip.

    video: float32 in [0, 1], any layout -> same shape, clipped to [0, 1].
    """
    gamma = float(np.exp(rng.uniform(-GAMMA, GAMMA)))
    contrast = float(rng.uniform(1.0 - CONTRAST, 1.0 + CONTRAST))
    brightness = float(rng.uniform(-BRIGHTNESS, BRIGHTNESS))
    v = np.power(video, gamma, dtype=np.float32)
    mean = float(v.mean())
    v = (v - mean) * contrast + mean + brightness
    return np.clip(v, 0.0, 1.0).astype(np.float32)
