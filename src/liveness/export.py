"""`liveness export`: ONNX and TFLite files that carry their configuration and prove parity.

Every exported file gets a sidecar `<file>.json` (configuration, threshold, version, sha256,
parity) and is checked against the PyTorch model on held-out clips before it is kept: float
files must agree to PARITY_TOL in probability, INT8 files must not move AUC by more than
INT8_MAX_DAUC. A failure raises ParityError; the parity report is written either way.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from liveness import __version__
from liveness.backends import Backend, OnnxBackend, TfliteBackend, sha256_file, sidecar_path
from liveness.checkpoint import model_from_checkpoint
from liveness.config import LivenessConfig
from liveness.parity import Batch, backend_probs, load_clips, parity, reference_probs

PARITY_TOL = 1e-4  # max |Δp| allowed between PyTorch and a float export
INT8_MAX_DAUC = 0.005  # max |ΔAUC| allowed for an INT8 export on held-out clips
FORMATS = ("onnx", "tflite", "int8")  # int8 = TFLite with the CNN quantized (see export_tflite)
FILENAMES = {"onnx": "model.onnx", "tflite": "model.tflite", "int8": "model_int8.tflite"}

__all__ = ["PARITY_TOL", "ParityError", "export_model", "export_onnx", "sidecar_path"]


class ParityError(RuntimeError):
    """An exported file does not compute the same function as the checkpoint."""


def _check(fmt: str, report: dict[str, Any], out: Path) -> None:
    if fmt == "int8":
        if "delta_auc" not in report:
            raise ParityError(f"{out}: INT8 parity needs labelled held-out clips (--data)")
        if abs(report["delta_auc"]) > INT8_MAX_DAUC:
            raise ParityError(
                f"{out}: INT8 moves AUC by {report['delta_auc']:+.4f} "
                f"(allowed ±{INT8_MAX_DAUC}) on {report['n']} {report['inputs']}"
            )
    elif report["max_abs_dp"] > PARITY_TOL:
        raise ParityError(
            f"{out}: max |Δp| {report['max_abs_dp']:.2e} > {PARITY_TOL:g} against PyTorch"
        )


def write_sidecar(
    out: Path, fmt: str, cfg: LivenessConfig, checkpoint: Path, report: dict[str, Any]
) -> dict[str, Any]:
    meta = {
        "format": "onnx" if fmt == "onnx" else "tflite",
        "precision": "int8" if fmt == "int8" else "float32",
        "liveness_version": __version__,
        "config": cfg.to_dict(),
        "threshold": cfg.threshold,
        "source_checkpoint": checkpoint.name,
        "source_sha256": sha256_file(checkpoint),
        "sha256": sha256_file(out),
        "bytes": out.stat().st_size,
        "parity": report,
    }
    sidecar_path(out).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return meta


def _example(cfg: LivenessConfig, batch: int) -> tuple[Any, Any, Any]:
    import torch

    p = cfg.preprocess
    g = torch.Generator().manual_seed(0)
    return (
        torch.rand(batch, p.num_frames, 3, p.image_size, p.image_size, generator=g),
        torch.randn(batch, p.num_frames, p.imu_per_frame, 6, generator=g),
        torch.tensor([1.0, 0.0] * (batch // 2) + [1.0] * (batch % 2)),
    )


def write_onnx(model: Any, cfg: LivenessConfig, out: Path) -> None:
    """The legacy exporter keeps nn.LSTM as one ONNX LSTM op and writes a single file; the
    configuration also goes inside the .onnx, so the file alone is self-describing."""
    import onnx
    import torch

    torch.onnx.export(
        model, _example(cfg, 2), str(out), dynamo=False, opset_version=17,
        input_names=["video", "imu", "imu_present"], output_names=["logit"],
        dynamic_axes={k: {0: "batch"} for k in ("video", "imu", "imu_present", "logit")},
    )  # fmt: skip
    m = onnx.load(str(out))
    for k, v in (("liveness_config", json.dumps(cfg.to_dict())), ("liveness_version", __version__)):
        entry = m.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.save(m, str(out))


def export_model(
    checkpoint: str | os.PathLike[str],
    out: str | os.PathLike[str],
    fmt: str,
    held_out: Batch | None = None,
    calibration: Batch | None = None,
) -> dict[str, Any]:
    """Write one exported file (`fmt` in FORMATS) and its sidecar, verify it on `held_out`
    (random tensors when None: float only) and return the sidecar's content.

    INT8 needs `calibration` (real clips from the training distribution, never noise) and
    labelled `held_out` clips. Raises ParityError when the file fails its check.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (expected one of {', '.join(FORMATS)})")
    if fmt == "int8" and calibration is None:
        raise ValueError("INT8 export needs calibration clips from the training data (--data)")
    ck = Path(checkpoint)
    model, cfg = model_from_checkpoint(ck)
    o = Path(out)
    o.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "onnx":
        write_onnx(model, cfg, o)
    else:
        from liveness.export_tflite import write_tflite

        write_tflite(model, cfg, o, calibration if fmt == "int8" else None)
    batch = held_out if held_out is not None else Batch.random(cfg)
    ref = reference_probs(model, batch)
    # The runtime that will serve the file, opened directly: its sidecar is written below.
    backend: Backend = OnnxBackend(o) if fmt == "onnx" else TfliteBackend(o)
    report = parity(ref, backend_probs(backend, batch), batch, cfg)
    report["tolerance"] = (
        {"max_abs_delta_auc": INT8_MAX_DAUC} if fmt == "int8" else {"max_abs_dp": PARITY_TOL}
    )
    meta = write_sidecar(o, fmt, cfg, ck, report)
    _check(fmt, report, o)
    return meta


def export_onnx(
    checkpoint: str | os.PathLike[str],
    out: str | os.PathLike[str],
    inputs: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """ONNX only, parity on `inputs` (outputs of preprocess_clip) or random tensors."""
    batch = Batch.from_items(inputs) if inputs else None
    return export_model(checkpoint, out, "onnx", batch)


def export_all(
    checkpoint: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    formats: tuple[str, ...] = FORMATS,
    data: str | os.PathLike[str] | None = None,
    split: str = "val",
    clips: int = 200,
    calib_clips: int = 64,
) -> dict[str, dict[str, Any]]:
    """Export `formats` into `out_dir` (model.onnx, model.tflite, model_int8.tflite), each
    checked on `clips` held-out clips of `split` (INT8 calibrated on `calib_clips` clips of
    the train split), and write parity_report.{json,md}. Raises ParityError after writing
    the report if any file failed its check."""
    _, cfg = model_from_checkpoint(checkpoint)
    held = load_clips(data, split, cfg, clips, motion=True) if data else None
    calib = load_clips(data, "train", cfg, calib_clips, seed=1) if data else None
    o = Path(out_dir)
    o.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    failures = []
    for fmt in formats:
        try:
            results[fmt] = export_model(checkpoint, o / FILENAMES[fmt], fmt, held, calib)
        except ParityError as e:
            failures.append(str(e))
            results[fmt] = {
                **json.loads(sidecar_path(o / FILENAMES[fmt]).read_text()),
                "failed": str(e),
            }
    (o / "parity_report.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    (o / "parity_report.md").write_text(parity_markdown(results))
    if failures:
        raise ParityError("; ".join(failures))
    return results


def parity_markdown(results: dict[str, dict[str, Any]]) -> str:
    """One table: each exported file against the PyTorch checkpoint."""
    lines = [
        "# Export parity report",
        "",
        "| file | precision | bytes | n | inputs | max abs Δp | mean abs Δp | verdict flips "
        "| AUC torch | AUC export | ΔAUC | ΔACER | result |",
        "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for fmt, m in results.items():
        r = m["parity"]

        def f(k: str, spec: str = ".4f", r: dict[str, Any] = r) -> str:
            return format(r[k], spec) if k in r else "–"

        lines.append(
            f"| {FILENAMES[fmt]} | {m['precision']} | {m['bytes']:,} | {r['n']} | {r['inputs']} "
            f"| {f('max_abs_dp', '.2e')} | {f('mean_abs_dp', '.2e')} | {r['verdict_flips']} "
            f"| {f('auc_torch')} | {f('auc_export')} | {f('delta_auc', '+.4f')} "
            f"| {f('delta_acer', '+.4f')} | {'FAILED' if 'failed' in m else 'pass'} |"
        )
    lines += [
        "",
        f"Float files must agree with PyTorch to max |Δp| ≤ {PARITY_TOL:g}; INT8 must keep "
        f"|ΔAUC| ≤ {INT8_MAX_DAUC}. Threshold: the checkpoint's calibrated one.",
        "",
    ]
    return "\n".join(lines)
