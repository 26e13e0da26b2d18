"""`liveness export`: ONNX files that carry their configuration and prove parity with PyTorch."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from liveness import __version__
from liveness.checkpoint import model_from_checkpoint, sha256_file

PARITY_TOL = 1e-4  # max |Δp| allowed between PyTorch and a float export


class ParityError(RuntimeError):
    """An exported file does not compute the same function as the checkpoint."""


def sidecar_path(model_file: str | os.PathLike[str]) -> Path:
    """model.onnx -> model.onnx.json: configuration, threshold, version and sha256."""
    p = Path(model_file)
    return p.with_name(p.name + ".json")


def _example(cfg: Any, batch: int) -> tuple[Any, Any, Any]:
    import torch

    p = cfg.preprocess
    g = torch.Generator().manual_seed(0)
    return (
        torch.rand(batch, p.num_frames, 3, p.image_size, p.image_size, generator=g),
        torch.randn(batch, p.num_frames, p.imu_per_frame, 6, generator=g),
        torch.tensor([1.0, 0.0] * (batch // 2) + [1.0] * (batch % 2)),
    )


def export_onnx(
    checkpoint: str | os.PathLike[str],
    out: str | os.PathLike[str],
    inputs: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Write `out` (.onnx) and its sidecar; verify parity on `inputs` (outputs of
    preprocess_clip, e.g. held-out clips) or, without them, on random inputs.

    Raises ParityError when max |Δp| > PARITY_TOL. Returns the parity report.
    """
    import torch

    model, cfg = model_from_checkpoint(checkpoint)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    args = _example(cfg, 2)
    # The legacy exporter keeps nn.LSTM as one ONNX LSTM op and writes a single file.
    torch.onnx.export(
        model, args, str(out), dynamo=False, opset_version=17,
        input_names=["video", "imu", "imu_present"], output_names=["logit"],
        dynamic_axes={k: {0: "batch"} for k in ("video", "imu", "imu_present", "logit")},
    )  # fmt: skip
    _embed_metadata(out, cfg.to_dict())
    report = check_parity(model, out, inputs if inputs else None, cfg)
    meta = {
        "format": "onnx",
        "liveness_version": __version__,
        "config": cfg.to_dict(),
        "threshold": cfg.threshold,
        "source_checkpoint": Path(checkpoint).name,
        "sha256": sha256_file(out),
        "parity": report,
    }
    sidecar_path(out).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    if report["max_abs_dp"] > PARITY_TOL:
        raise ParityError(
            f"{out}: max |Δp| {report['max_abs_dp']:.2e} > {PARITY_TOL:g} against PyTorch"
        )
    return meta


def _embed_metadata(path: Path, config: dict[str, Any]) -> None:
    """Store the configuration inside the .onnx too, so the file alone is self-describing."""
    import onnx

    m = onnx.load(str(path))
    for k, v in (("liveness_config", json.dumps(config)), ("liveness_version", __version__)):
        entry = m.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.save(m, str(path))


def check_parity(
    model: Any, onnx_file: Path, inputs: list[dict[str, Any]] | None, cfg: Any
) -> dict[str, Any]:
    """max |Δp| between the PyTorch model and the ONNX file on the same inputs."""
    import torch

    from liveness.predict import OnnxBackend

    if inputs:
        video = np.stack([x["video"] for x in inputs])
        imu = np.stack([x["imu"] for x in inputs]).astype(np.float32)
        present = np.array([bool(x["imu_present"]) for x in inputs])
    else:
        v, i, p = _example(cfg, 8)
        video = (v.permute(0, 1, 3, 4, 2).numpy() * 255).round().astype(np.uint8)
        imu, present = i.numpy(), p.numpy() > 0.5
    tv = torch.from_numpy(video).permute(0, 1, 4, 2, 3).float() / 255.0
    with torch.no_grad():
        ref = torch.sigmoid(
            model(tv, torch.from_numpy(imu), torch.from_numpy(present.astype(np.float32)))
        )
    got = OnnxBackend(onnx_file, cfg, threads=1)(video, imu, present)
    dp = np.abs(got - ref.numpy().astype(np.float64))
    return {
        "n": len(video),
        "inputs": "held-out clips" if inputs else "random tensors",
        "max_abs_dp": float(dp.max()),
        "mean_abs_dp": float(dp.mean()),
        "tolerance": PARITY_TOL,
    }
