"""Tests of export: self-describing ONNX/TFLite/INT8 files, parity per backend, loud failures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import liveness.export as ex
from liveness.backends import sha256_file
from liveness.checkpoint import save_checkpoint
from liveness.export import FILENAMES, PARITY_TOL, ParityError, export_all, export_onnx
from liveness.model import LivenessNet
from liveness.predict import load_predictor, predict_paths

from .conftest import TINY


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(1)
    d = tmp_path_factory.mktemp("export")
    return save_checkpoint(
        d / "m.pt", {"model": LivenessNet(TINY).state_dict(), "config": TINY.to_dict()}
    )


@pytest.fixture(scope="module")
def exported(
    checkpoint: Path, tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """All three formats of the tiny model, checked on the tiny dataset's val clips."""
    out = tmp_path_factory.mktemp("exported")
    export_all(checkpoint, out, data=tiny_dataset, split="val", clips=8, calib_clips=8)
    return out


def test_every_file_is_self_describing(exported: Path, checkpoint: Path) -> None:
    import onnx

    for fmt, name in FILENAMES.items():
        side = json.loads((exported / f"{name}.json").read_text())
        assert side["sha256"] == sha256_file(exported / name)
        assert side["config"] == TINY.to_dict() and side["threshold"] == TINY.threshold
        assert side["source_sha256"] == sha256_file(checkpoint)
        assert side["precision"] == ("int8" if fmt == "int8" else "float32")
        assert side["parity"]["inputs"].startswith("val split") and side["parity"]["n"] > 0
    props = {p.key: p.value for p in onnx.load(str(exported / "model.onnx")).metadata_props}
    assert json.loads(props["liveness_config"]) == TINY.to_dict()
    report = json.loads((exported / "parity_report.json").read_text())
    assert set(report) == set(FILENAMES)
    assert "| model_int8.tflite | int8 |" in (exported / "parity_report.md").read_text()


def test_float_exports_match_pytorch(exported: Path) -> None:
    for name in ("model.onnx", "model.tflite"):
        par = json.loads((exported / f"{name}.json").read_text())["parity"]
        assert par["max_abs_dp"] <= PARITY_TOL, name
        assert par["delta_auc"] == pytest.approx(0.0, abs=1e-9), name


def test_int8_is_really_int8_and_close(exported: Path) -> None:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(str(exported / "model_int8.tflite"))
    int8_weights = [t for t in it.get_tensor_details() if t["dtype"] == np.int8]
    assert len(int8_weights) > 20  # the CNN's convolutions hold int8 weights, not FP16
    f32 = (exported / "model.tflite").stat().st_size
    assert (exported / "model_int8.tflite").stat().st_size < 0.9 * f32
    par = json.loads((exported / "model_int8.tflite.json").read_text())["parity"]
    assert abs(par["delta_auc"]) <= ex.INT8_MAX_DAUC and par["max_abs_dp"] < 0.1


@pytest.mark.parametrize("name", ["model.onnx", "model.tflite", "model_int8.tflite"])
def test_predictor_backends_agree_with_pytorch(
    name: str, exported: Path, checkpoint: Path, tiny_dataset: Path
) -> None:
    clips = sorted(str(p) for p in (tiny_dataset / "clips").iterdir())[:6]
    ref = list(predict_paths(load_predictor(checkpoint, check_face=False), clips, batch_size=3))
    pred = load_predictor(exported / name, check_face=False)
    assert pred.backend.name == ("onnx" if name.endswith(".onnx") else "tflite")
    got = list(predict_paths(pred, clips, batch_size=4))
    tol = 0.1 if "int8" in name else 1e-5
    for x, y in zip(ref, got, strict=True):
        assert abs(x["score"] - y["score"]) <= tol and x["modalities"] == y["modalities"]


def test_parity_failure_is_loud(
    checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ex, "PARITY_TOL", -1.0)  # no export can meet a negative tolerance
    with pytest.raises(ParityError, match="max"):
        export_onnx(checkpoint, tmp_path / "m.onnx")
    with pytest.raises(ParityError):
        export_all(checkpoint, tmp_path / "all", formats=("onnx",))
    assert "FAILED" in (tmp_path / "all" / "parity_report.md").read_text()


def test_int8_needs_real_calibration_clips(checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="calibration clips"):
        ex.export_model(checkpoint, tmp_path / "q.tflite", "int8")


def test_exported_file_without_sidecar_is_a_clear_error(exported: Path, tmp_path: Path) -> None:
    for name in ("model.onnx", "model.tflite"):
        (tmp_path / name).write_bytes((exported / name).read_bytes())
        with pytest.raises(ValueError, match=rf"missing {name}\.json"):
            load_predictor(tmp_path / name, check_face=False)
