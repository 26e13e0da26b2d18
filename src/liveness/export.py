"""`liveness export`: ONNX and TFLite files that carry their configuration and prove parity.

Every exported file gets a sidecar `<file>.json` (configuration, threshold, version, sha256,
parity) and is checked against the PyTorch model on one or more sets of held-out clips before
it is kept. Float files must agree to PARITY_TOL in probability on every clip. INT8 files must
agree clip by clip on every set: the verdict (liveness.decision, with the checkpoint's threshold
and fusion and each clip's motion agreement) the same as PyTorch's on >= INT8_MIN_AGREEMENT of
the clips, the 99th percentile of |Δp| <= INT8_MAX_P99_DP, and AUC moved by <= INT8_MAX_DAUC.
INT8 is tried with each recipe of export_tflite.INT8_RECIPES in turn (static int8 arithmetic,
then int8 weights only) and the first that passes is kept; its sidecar names it. A file that
fails is not kept under its name (renamed `<file>.failed`, with its sidecar) and ParityError is
raised; the parity report is written either way.
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
INT8_MIN_AGREEMENT = 0.99  # share of held-out clips whose verdict must equal PyTorch's
INT8_MAX_P99_DP = 0.05  # 99th percentile of |Δp| allowed for an INT8 export
FORMATS = ("onnx", "tflite", "int8")  # int8 = TFLite with the CNN quantized (see export_tflite)
FILENAMES = {"onnx": "model.onnx", "tflite": "model.tflite", "int8": "model_int8.tflite"}

__all__ = ["PARITY_TOL", "ParityError", "export_model", "export_onnx", "sidecar_path"]


class ParityError(RuntimeError):
    """An exported file does not compute the same function as the checkpoint; `meta` is the
    failed file's sidecar content when one was written."""

    def __init__(self, message: str, meta: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.meta = meta


def tolerance(fmt: str) -> dict[str, float]:
    """The criteria a file of format `fmt` must meet on every held-out set."""
    if fmt == "int8":
        return {"min_verdict_agreement": INT8_MIN_AGREEMENT, "max_p99_abs_dp": INT8_MAX_P99_DP,
                "max_abs_delta_auc": INT8_MAX_DAUC}  # fmt: skip
    return {"max_abs_dp": PARITY_TOL}


def problems(fmt: str, report: dict[str, Any]) -> list[str]:
    """What a parity report (one held-out set) fails of the format's criteria; [] = passes."""
    on = f"on {report['n']} {report['inputs']}"
    if fmt != "int8":
        dp = report["max_abs_dp"]
        return (
            [f"max |Δp| {dp:.2e} > {PARITY_TOL:g} against PyTorch {on}"] if dp > PARITY_TOL else []
        )
    if "delta_auc" not in report:
        return [f"INT8 parity needs labelled held-out clips of both classes ({on})"]
    out = []
    agree = report["verdict_agreement"]
    if agree < INT8_MIN_AGREEMENT:
        worst = ", ".join(w["clip"] for w in report["worst"] if w["live_torch"] != w["live_export"])
        out.append(f"verdicts agree with PyTorch on {100 * agree:.1f} % of clips "
                   f"(needs ≥ {100 * INT8_MIN_AGREEMENT:g} %; flipped: {worst}) {on}")  # fmt: skip
    if report["p99_abs_dp"] > INT8_MAX_P99_DP:
        worst = ", ".join(f"{w['clip']} {w['abs_dp']:.3f}" for w in report["worst"][:3])
        out.append(f"p99 |Δp| {report['p99_abs_dp']:.3f} > {INT8_MAX_P99_DP} "
                   f"(largest: {worst}) {on}")  # fmt: skip
    if abs(report["delta_auc"]) > INT8_MAX_DAUC:
        out.append(f"AUC moved by {report['delta_auc']:+.4f} (allowed ±{INT8_MAX_DAUC}) {on}")
    return out


def write_sidecar(
    out: Path,
    fmt: str,
    cfg: LivenessConfig,
    checkpoint: Path,
    reports: list[dict[str, Any]],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`parity_sets`: one report per held-out set; `parity`: the first of them; `extra`: more
    keys (an INT8 file's recipe and the recipes that failed before it)."""
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
        "parity": reports[0],
        "parity_sets": reports,
        **(extra or {}),
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
    held_out: Batch | list[Batch] | None = None,
    calibration: Batch | None = None,
) -> dict[str, Any]:
    """Write one exported file (`fmt` in FORMATS) and its sidecar, verify it on each set of
    `held_out` clips (random tensors when None: float only) and return the sidecar's content.

    INT8 needs `calibration` (real clips from the training distribution, never noise) and
    labelled `held_out` clips. When the file fails its check it is renamed `<out>.failed`
    (sidecar too) and ParityError is raised, carrying the sidecar's content.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (expected one of {', '.join(FORMATS)})")
    if fmt == "int8" and calibration is None:
        raise ValueError("INT8 export needs calibration clips from the training data (--data)")
    ck = Path(checkpoint)
    model, cfg = model_from_checkpoint(ck)
    o = Path(out)
    o.parent.mkdir(parents=True, exist_ok=True)
    for stale in (o.with_name(o.name + ".failed"), sidecar_path(o.with_name(o.name + ".failed"))):
        stale.unlink(missing_ok=True)
    if isinstance(held_out, list):
        sets = held_out
    else:
        sets = [held_out if held_out is not None else Batch.random(cfg)]
    # INT8: each recipe in turn until one passes (export_tflite.INT8_RECIPES); the others' failures
    # are kept in the sidecar. Float formats: one try.
    from liveness.export_tflite import INT8_RECIPES, write_tflite

    tried: list[dict[str, str]] = []
    for recipe in INT8_RECIPES if fmt == "int8" else ("",):
        if fmt == "onnx":
            write_onnx(model, cfg, o)
        else:
            write_tflite(model, cfg, o, calibration if fmt == "int8" else None, recipe or "static")
        # The runtime that will serve the file, opened directly: its sidecar is written below.
        backend: Backend = OnnxBackend(o) if fmt == "onnx" else TfliteBackend(o)
        reports = []
        for batch in sets:
            probs = backend_probs(backend, batch)
            report = parity(reference_probs(model, batch), probs, batch, cfg)
            reports.append({**report, "tolerance": tolerance(fmt)})
        failed = [p for r in reports for p in problems(fmt, r)]
        if not failed:
            break
        tried.append({"recipe": recipe, "failed": "; ".join(failed)})
    extra = {"int8_recipe": recipe, "int8_recipes_failed": tried} if fmt == "int8" else {}
    meta = write_sidecar(o, fmt, cfg, ck, reports, extra)
    if failed:
        meta["failed"] = f"{o}: " + "; ".join(failed)
        side = sidecar_path(o)
        os.replace(o, o.with_name(o.name + ".failed"))
        os.replace(side, sidecar_path(o.with_name(o.name + ".failed")))
        raise ParityError(meta["failed"] + f" (kept as {o.name}.failed)", meta)
    return meta


def export_onnx(
    checkpoint: str | os.PathLike[str],
    out: str | os.PathLike[str],
    inputs: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """ONNX only, parity on `inputs` (outputs of preprocess_clip) or random tensors."""
    batch = Batch.from_items(inputs) if inputs else None
    return export_model(checkpoint, out, "onnx", batch)


def parity_sets(spec: str, default_split: str, cfg: LivenessConfig, clips: int) -> list[Batch]:
    """Held-out clip sets from `DIR[:SPLIT][,DIR[:SPLIT]...]` (split `all` = every clip of the
    dataset; no split: `default_split`), at most `clips` of each (a seeded random choice), with
    each clip's motion agreement so verdicts go through the decision path."""
    out = []
    for part in (x.strip() for x in spec.split(",") if x.strip()):
        root, _, split = part.rpartition(":")
        if not root or "/" in split or os.sep in split:  # no split given (or a path with ':')
            root, split = part, default_split
        out.append(load_clips(root, split, cfg, clips, motion=True))
    return out


def export_all(
    checkpoint: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    formats: tuple[str, ...] = FORMATS,
    data: str | os.PathLike[str] | None = None,
    split: str = "val",
    clips: int = 200,
    calib_clips: int = 64,
    held_out: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Export `formats` into `out_dir` (model.onnx, model.tflite, model_int8.tflite), each
    checked on at most `clips` held-out clips of each set of `held_out` (`DIR[:SPLIT],...`;
    default: `split` of `data`), INT8 calibrated on `calib_clips` clips of the train split of
    `data`, and write parity_report.{json,md}. Raises ParityError after writing the report if
    any file failed its check."""
    from liveness.parity_report import parity_markdown

    _, cfg = model_from_checkpoint(checkpoint)
    spec = held_out if held_out else (f"{data}:{split}" if data else None)
    held = parity_sets(spec, split, cfg, clips) if spec else None
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
            results[fmt] = e.meta or {"failed": str(e)}
    (o / "parity_report.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    (o / "parity_report.md").write_text(parity_markdown(results))
    if failures:
        raise ParityError("; ".join(failures))
    return results
