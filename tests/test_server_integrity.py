"""Model integrity: a served export must match the sha256 in its sidecar."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from liveness.backends import sha256_file
from liveness.server.integrity import ModelIntegrityError, verify_model_file

from .serverkit import bundled_model


def _export(tmp_path: Path) -> Path:
    """A stand-in export: some model bytes plus the sidecar `liveness export` writes."""
    model = tmp_path / "model.onnx"
    model.write_bytes(b"\x08\x07model-bytes" * 1000)
    meta = {"format": "onnx", "sha256": sha256_file(model), "config": {}}
    (tmp_path / "model.onnx.json").write_text(json.dumps(meta))
    return model


def test_intact_export_passes(tmp_path: Path) -> None:
    model = _export(tmp_path)
    assert verify_model_file(model) == sha256_file(model)


def test_tampered_copy_is_refused(tmp_path: Path) -> None:
    model = _export(tmp_path)
    data = bytearray(model.read_bytes())
    data[100] ^= 1  # one flipped bit
    model.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match=r"does not match model\.onnx\.json"):
        verify_model_file(model)


def test_missing_or_broken_sidecar_is_refused(tmp_path: Path) -> None:
    model = _export(tmp_path)
    side = tmp_path / "model.onnx.json"
    side.write_text(json.dumps({"format": "onnx"}))
    with pytest.raises(ModelIntegrityError, match="sha256"):
        verify_model_file(model)
    side.unlink()
    with pytest.raises(ModelIntegrityError, match=r"missing model\.onnx\.json"):
        verify_model_file(model)


def test_bundled_model_verifies(tmp_path: Path) -> None:
    src = bundled_model()
    assert len(verify_model_file(src)) == 64
    if src.suffix in (".onnx", ".tflite"):  # an export: a tampered copy must be refused
        copy = tmp_path / src.name
        shutil.copy(src, copy)
        shutil.copy(src.with_name(src.name + ".json"), tmp_path / (src.name + ".json"))
        with copy.open("ab") as f:
            f.write(b"\0")
        with pytest.raises(ModelIntegrityError):
            verify_model_file(copy)
