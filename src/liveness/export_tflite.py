"""PyTorch -> TFLite with litert-torch (no TensorFlow); INT8 with ai-edge-quantizer.

The .tflite takes one clip channels-last, video (1, T, S, S, 3) float in [0, 1], imu
(1, T, K, 6), imu_present (1,), and returns the logit (1,). nn.LSTM is unrolled over the
fixed clip length into plain ops.

INT8: static quantization (int8 weights per channel, int8 activations per tensor, calibrated
on real clips) of the per-frame CNN's convolutions and residual adds, where nearly all the
multiply-adds and weights are. The IMU branch, the fusion and the unrolled LSTM stay float:
quantizing the recurrent part broke the outputs in scouting (|Δp| ≈ 0.5). Activations and
attention gates (hard-swish, SE/CBAM pooling, sigmoid, multiply) stay float too: LiteRT's
XNNPACK delegate does not take int8 HARD_SWISH (and some int8 reductions), so quantizing
them split the graph into 20 delegate partitions and ran 2× slower (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from liveness.config import LivenessConfig
from liveness.preprocess import video_to_model

if TYPE_CHECKING:
    from liveness.parity import Batch

# Tensor names carry the PyTorch module path; this selects every op of the backbone.
INT8_SCOPE = r".*MobileNetV3Small_backbone.*"
INT8_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "ADD")
CALIBRATION_CLIPS = 64


def _channels_last(model: Any) -> Any:
    import torch

    class ChannelsLast(torch.nn.Module):
        """(B, T, S, S, 3) -> the model's (B, T, 3, S, S): TFLite's native image layout."""

        def __init__(self, net: torch.nn.Module) -> None:
            super().__init__()
            self.net = net

        def forward(self, video: Any, imu: Any, imu_present: Any) -> Any:
            return self.net(video.permute(0, 1, 4, 2, 3), imu, imu_present)

    return ChannelsLast(model).eval()


def _feeds(batch: Batch, i: int) -> dict[str, np.ndarray]:
    return {
        "args_0": video_to_model(batch.video[i : i + 1], channels_last=True),
        "args_1": batch.imu[i : i + 1].astype(np.float32),
        "args_2": batch.present[i : i + 1].astype(np.float32),
    }


def int8_recipe(scope: str = INT8_SCOPE, ops: tuple[str, ...] = INT8_OPS) -> list[dict[str, Any]]:
    """ai-edge-quantizer recipe: static w8/a8 on the `ops` whose names match `scope`."""
    return [
        {
            "regex": scope,
            "operation": op,
            "algorithm_key": "min_max_uniform_quantize",
            "op_config": {
                "activation_tensor_config": {
                    "num_bits": 8, "symmetric": False, "granularity": "TENSORWISE", "dtype": "INT",
                },
                "weight_tensor_config": {
                    "num_bits": 8, "symmetric": True, "granularity": "CHANNELWISE", "dtype": "INT",
                },
                "compute_precision": "INTEGER",
                "explicit_dequantize": False,
                "skip_checks": False,
                "min_weight_elements": 0,
            },
        }
        for op in ops
    ]  # fmt: skip


def write_tflite(
    model: Any, cfg: LivenessConfig, out: Path, calibration: Batch | None = None
) -> None:
    """Float32 .tflite, or INT8 (CNN) when `calibration` clips are given."""
    import litert_torch
    import torch

    p = cfg.preprocess
    example = (
        torch.rand(1, p.num_frames, p.image_size, p.image_size, 3),
        torch.randn(1, p.num_frames, p.imu_per_frame, 6),
        torch.ones(1),
    )
    edge = litert_torch.convert(_channels_last(model), example)
    if calibration is None:
        edge.export(str(out))
        return
    from ai_edge_quantizer import quantizer

    with tempfile.TemporaryDirectory() as tmp:
        f32 = os.path.join(tmp, "f32.tflite")
        edge.export(f32)
        q = quantizer.Quantizer(f32, int8_recipe())
        data = [_feeds(calibration, i) for i in range(len(calibration))]
        cal = q.calibrate({"serving_default": data}, num_threads=1)
        result = q.quantize(cal)
        result.export_model(str(out), overwrite=True)
