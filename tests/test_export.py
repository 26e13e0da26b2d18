"""Tests of ONNX export: self-describing files, parity with PyTorch, the ONNX predictor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from liveness.checkpoint import save_checkpoint, sha256_file
from liveness.clip import read_clip
from liveness.export import PARITY_TOL, ParityError, export_onnx, sidecar_path
from liveness.manifest import read_manifest
from liveness.model import LivenessNet
from liveness.predict import load_predictor, predict_paths
from liveness.preprocess import preprocess_clip

from .conftest import TINY


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(1)
    d = tmp_path_factory.mktemp("export")
    return save_checkpoint(
        d / "m.pt", {"model": LivenessNet(TINY).state_dict(), "config": TINY.to_dict()}
    )


def test_export_writes_self_describing_file_with_parity(
    checkpoint: Path, tiny_dataset: Path, tmp_path: Path
) -> None:
    rows = [r for r in read_manifest(tiny_dataset) if r.split == "val"]
    inputs = [preprocess_clip(read_clip(tiny_dataset / r.clip), TINY.preprocess) for r in rows]
    meta = export_onnx(checkpoint, tmp_path / "m.onnx", inputs)
    side = json.loads(sidecar_path(tmp_path / "m.onnx").read_text())
    assert side["sha256"] == sha256_file(tmp_path / "m.onnx")
    assert side["config"] == TINY.to_dict() and side["threshold"] == TINY.threshold
    assert meta["parity"]["inputs"] == "held-out clips" and meta["parity"]["n"] == len(rows)
    assert meta["parity"]["max_abs_dp"] <= PARITY_TOL
    import onnx

    props = {p.key: p.value for p in onnx.load(str(tmp_path / "m.onnx")).metadata_props}
    assert json.loads(props["liveness_config"]) == TINY.to_dict()


def test_onnx_predictor_matches_pytorch(
    checkpoint: Path, tiny_dataset: Path, tmp_path: Path
) -> None:
    export_onnx(checkpoint, tmp_path / "m.onnx")
    clips = sorted(str(p) for p in (tiny_dataset / "clips").iterdir())[:6]
    a = list(predict_paths(load_predictor(checkpoint, check_face=False), clips, batch_size=3))
    b = list(
        predict_paths(load_predictor(tmp_path / "m.onnx", check_face=False), clips, batch_size=2)
    )
    for x, y in zip(a, b, strict=True):
        assert abs(x["score"] - y["score"]) <= 1e-5 and x["modalities"] == y["modalities"]


def test_parity_failure_is_loud(
    checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import liveness.export as ex

    monkeypatch.setattr(ex, "PARITY_TOL", -1.0)  # no export can meet a negative tolerance
    with pytest.raises(ParityError, match="max"):
        ex.export_onnx(checkpoint, tmp_path / "m.onnx")


def test_onnx_without_sidecar_is_a_clear_error(checkpoint: Path, tmp_path: Path) -> None:
    export_onnx(checkpoint, tmp_path / "m.onnx")
    sidecar_path(tmp_path / "m.onnx").unlink()
    with pytest.raises(ValueError, match=r"missing m\.onnx\.json"):
        load_predictor(tmp_path / "m.onnx", check_face=False)
