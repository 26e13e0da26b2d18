"""Predictors: load a model once, score clips or batches; `liveness predict` per the contract."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from liveness.clip import Clip, ClipError, read_clip
from liveness.config import LivenessConfig
from liveness.face import FaceCheck, FaceDetector, face_check
from liveness.preprocess import preprocess_clip

BUNDLED = Path(__file__).parent / "models" / "default.pt"


class Backend(Protocol):
    """Runs the network: video (B, T, S, S, 3) uint8, imu (B, T, K, 6) f32, present (B,) ->
    probability live (B,)."""

    def __call__(self, video: np.ndarray, imu: np.ndarray, present: np.ndarray) -> np.ndarray: ...


class TorchBackend:
    """The PyTorch model rebuilt from a checkpoint's configuration."""

    def __init__(self, path: str | os.PathLike[str], threads: int = 1) -> None:
        import torch

        from liveness.checkpoint import model_from_checkpoint

        if threads:
            torch.set_num_threads(threads)
        self.model, self.config = model_from_checkpoint(path)
        self._torch = torch

    def __call__(self, video: np.ndarray, imu: np.ndarray, present: np.ndarray) -> np.ndarray:
        t = self._torch
        # (B, T, S, S, 3) uint8 -> (B, T, 3, S, S) float in [0, 1], as the dataset produces.
        v = t.from_numpy(np.ascontiguousarray(video)).permute(0, 1, 4, 2, 3).float() / 255.0
        with t.no_grad():
            logits = self.model(v, t.from_numpy(imu), t.from_numpy(present.astype(np.float32)))
        return t.sigmoid(logits).numpy().astype(np.float64)


class OnnxBackend:
    """An exported .onnx file run by ONNX Runtime (no PyTorch needed)."""

    def __init__(
        self, path: str | os.PathLike[str], config: LivenessConfig, threads: int = 1
    ) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, threads)
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.config = config

    def __call__(self, video: np.ndarray, imu: np.ndarray, present: np.ndarray) -> np.ndarray:
        # Same tensor layout as the PyTorch path: (B, T, 3, S, S) float in [0, 1].
        v = np.ascontiguousarray(video.transpose(0, 1, 4, 2, 3), dtype=np.float32) / 255.0
        feeds = {
            "video": v,
            "imu": np.ascontiguousarray(imu, dtype=np.float32),
            "imu_present": present.astype(np.float32),
        }
        logit = self.session.run(None, feeds)[0].astype(np.float64)
        return 1.0 / (1.0 + np.exp(-logit))


def _exported_config(path: Path) -> LivenessConfig:
    """The configuration an exported file carries in its sidecar (model.onnx.json)."""
    import json

    side = path.with_name(path.name + ".json")
    if not side.is_file():
        raise ValueError(f"{path}: missing {side.name} (configuration written by liveness export)")
    try:
        meta = json.loads(side.read_text())
        return LivenessConfig.from_dict(meta["config"])
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{side}: not a valid export sidecar ({e})") from e


@dataclass
class Predictor:
    """A loaded model plus its configuration: the one object the CLI and the server use.

    `face` (the bundled BlazeFace detector) rejects captures without a face in the guide oval
    before they are scored; None skips that check.
    """

    backend: Backend
    config: LivenessConfig
    source: str
    face: FaceDetector | None = None

    def check_face(self, clip: Clip) -> FaceCheck | None:
        return None if self.face is None else face_check(clip.frames, self.face)

    @property
    def threshold(self) -> float:
        return self.config.threshold

    def predict_arrays(self, video: np.ndarray, imu: np.ndarray, present: np.ndarray) -> np.ndarray:
        return self.backend(video, imu.astype(np.float32), present)

    def predict_inputs(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Score preprocessed clips (outputs of preprocess_clip) as one batch."""
        video = np.stack([it["video"] for it in items])
        imu = np.stack([it["imu"] for it in items])
        present = np.array([bool(it["imu_present"]) for it in items])
        scores = self.predict_arrays(video, imu, present)
        out = []
        for s, it in zip(scores, items, strict=True):
            out.append(
                {
                    "live": bool(s >= self.threshold),
                    "score": round(float(s), 6),
                    "threshold": round(self.threshold, 6),
                    "modalities": self.config.modalities(bool(it["imu_present"])),
                }
            )
        return out


def load_predictor(
    path: str | os.PathLike[str] | None = None, threads: int = 1, check_face: bool = True
) -> Predictor:
    """Load a model file once; the backend is picked from the file: .pt (PyTorch checkpoint)
    or .onnx (ONNX Runtime, configuration from its sidecar)."""
    p = Path(path) if path is not None else BUNDLED
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such model file")
    face = FaceDetector(threads=threads) if check_face else None
    if p.suffix in (".pt", ".pth"):
        b = TorchBackend(p, threads)
        return Predictor(b, b.config, str(p), face)
    if p.suffix == ".onnx":
        cfg = _exported_config(p)
        return Predictor(OnnxBackend(p, cfg, threads), cfg, str(p), face)
    raise ValueError(f"{p}: unknown model type {p.suffix!r} (expected .pt or .onnx)")


def predict_paths(
    predictor: Predictor, clips: Iterable[str], batch_size: int = 8
) -> Iterator[dict[str, Any]]:
    """One result per clip, in order; an unreadable clip gives {"clip", "error"} and the rest go on;
    a clip without a face gives {"clip", "live": false, "rejected": "no_face", "error": reason}.

    Clips are read and preprocessed one by one and scored in batches of `batch_size`.
    """
    pending: list[tuple[str, dict[str, Any]]] = []

    def flush() -> Iterator[dict[str, Any]]:
        if pending:
            res = predictor.predict_inputs([x for _, x in pending])
            for (path, _), r in zip(pending, res, strict=True):
                yield {"clip": path, **r}
            pending.clear()

    for path in clips:
        try:
            clip = read_clip(path)
            item = preprocess_clip(clip, predictor.config.preprocess)
        except (ClipError, OSError, ValueError) as e:
            yield from flush()
            yield {"clip": path, "error": str(e)}
            continue
        fc = predictor.check_face(clip)
        if fc is not None and not fc.ok:
            # Not scored: a capture without a face is refused with its reason.
            yield from flush()
            yield {"clip": path, "live": False, "rejected": "no_face", "error": fc.reason}
            continue
        pending.append((path, item))
        if len(pending) >= batch_size:
            yield from flush()
    yield from flush()
