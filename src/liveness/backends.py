"""Runtimes that run the network: PyTorch, ONNX Runtime, LiteRT (TFLite). One call signature.

Every backend takes what preprocess_clip produces, batched: video (B, T, S, S, 3) uint8,
imu (B, T, K, 6) float32, imu_present (B,) bool, and returns the probability live (B,) float64.
Only the backend in use imports its runtime, so serving an exported file needs no PyTorch.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from liveness.config import LivenessConfig
from liveness.preprocess import video_to_model


class Backend(Protocol):
    name: str

    def __call__(self, video: np.ndarray, imu: np.ndarray, present: np.ndarray) -> np.ndarray: ...


def sigmoid(logit: np.ndarray) -> np.ndarray:
    x = np.clip(np.asarray(logit, dtype=np.float64), -60.0, 60.0)
    return 1.0 / (1.0 + np.exp(-x))


def sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sidecar_path(model_file: str | os.PathLike[str]) -> Path:
    """model.onnx -> model.onnx.json: configuration, threshold, version, sha256, parity."""
    p = Path(model_file)
    return p.with_name(p.name + ".json")


def read_sidecar(model_file: str | os.PathLike[str]) -> dict[str, Any]:
    """The metadata `liveness export` wrote next to an exported file; a clear error otherwise."""
    side = sidecar_path(model_file)
    if not side.is_file():
        raise ValueError(
            f"{model_file}: missing {side.name} (configuration written by liveness export)"
        )
    try:
        meta = json.loads(side.read_text())
        LivenessConfig.from_dict(meta["config"])
        if not isinstance(meta.get("sha256"), str):
            raise KeyError("sha256")
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{side}: not a valid export sidecar ({e})") from e
    return dict(meta)


class TorchBackend:
    """The PyTorch model rebuilt from a checkpoint's configuration."""

    name = "torch"

    def __init__(self, path: str | os.PathLike[str], threads: int = 1) -> None:
        import torch

        from liveness.checkpoint import model_from_checkpoint

        if threads:
            torch.set_num_threads(threads)
        self.model, self.config = model_from_checkpoint(path)
        self._torch = torch

    def __call__(self, video: np.ndarray, imu: np.ndarray, present: np.ndarray) -> np.ndarray:
        t = self._torch
        v = t.from_numpy(video_to_model(video))  # (B, T, 3, S, S) in [0, 1], as the dataset
        with t.no_grad():
            logits = self.model(v, t.from_numpy(imu), t.from_numpy(present.astype(np.float32)))
        return sigmoid(logits.numpy())


class OnnxBackend:
    """An exported .onnx file run by ONNX Runtime; inputs (B, T, 3, S, S) float, any batch."""

    name = "onnx"

    def __init__(self, path: str | os.PathLike[str], threads: int = 1) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, threads)
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def __call__(self, video: np.ndarray, imu: np.ndarray, present: np.ndarray) -> np.ndarray:
        feeds = {
            "video": np.ascontiguousarray(video_to_model(video)),  # (B, T, 3, S, S)
            "imu": np.ascontiguousarray(imu, dtype=np.float32),
            "imu_present": present.astype(np.float32),
        }
        return sigmoid(self.session.run(None, feeds)[0])


class TfliteBackend:
    """An exported .tflite file (float32 or INT8) run by LiteRT with XNNPACK; no TensorFlow.

    The file takes one clip, channels last: video (1, T, S, S, 3) float in [0, 1], imu
    (1, T, K, 6), imu_present (1,); a batch runs clip by clip (the work is per clip anyway).
    """

    name = "tflite"

    def __init__(self, path: str | os.PathLike[str], threads: int = 1) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(str(path), num_threads=max(1, threads))
        self.runner = self.interpreter.get_signature_runner()
        # Inputs are named args_0.. in the order of the wrapped forward(video, imu, present).
        names = sorted(self.runner.get_input_details())
        if len(names) != 3:
            raise ValueError(f"{path}: expected 3 inputs (video, imu, imu_present), got {names}")
        self.inputs = names
        (self.output,) = self.runner.get_output_details()

    def __call__(self, video: np.ndarray, imu: np.ndarray, present: np.ndarray) -> np.ndarray:
        out = np.empty(len(video), dtype=np.float64)
        kv, ki, kp = self.inputs
        for b in range(len(video)):
            res = self.runner(
                **{
                    kv: video_to_model(video[b : b + 1], channels_last=True),
                    ki: np.ascontiguousarray(imu[b : b + 1], dtype=np.float32),
                    kp: present[b : b + 1].astype(np.float32),
                }
            )
            out[b] = float(np.asarray(res[self.output]).reshape(-1)[0])
        return sigmoid(out)


def open_backend(path: Path, threads: int = 1) -> tuple[Backend, LivenessConfig, dict[str, Any]]:
    """Pick the runtime from the file: .pt/.pth (PyTorch), .onnx (ONNX Runtime), .tflite
    (LiteRT). Returns the backend, the configuration the file carries and its metadata."""
    if path.suffix in (".pt", ".pth"):
        tb = TorchBackend(path, threads)
        return tb, tb.config, {"format": "checkpoint", "precision": "float32"}
    if path.suffix not in (".onnx", ".tflite"):
        raise ValueError(
            f"{path}: unknown model type {path.suffix!r} (expected .pt, .onnx, .tflite)"
        )
    meta = read_sidecar(path)
    cfg = LivenessConfig.from_dict(meta["config"])
    b: Backend = (
        OnnxBackend(path, threads) if path.suffix == ".onnx" else TfliteBackend(path, threads)
    )
    return b, cfg, meta
