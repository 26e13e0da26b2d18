"""Model integrity: a served export must match the sha256 in its sidecar."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from liveness.backends import sha256_file
from liveness.server.integrity import (
    ModelIntegrityError,
    ModelWatch,
    snapshot_model,
    verify_copy,
    verify_model_file,
)

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


def test_snapshot_keeps_the_verified_bytes_privately(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    model = _export(tmp_path / "src")
    copy, sha = snapshot_model(model, tmp_path / "private")
    assert sha == sha256_file(model) and copy.read_bytes() == model.read_bytes()
    assert (copy.parent.stat().st_mode & 0o777) == 0o700
    assert (copy.stat().st_mode & 0o777) == 0o600
    assert (
        copy.with_name("model.onnx.json").read_bytes()
        == model.with_name("model.onnx.json").read_bytes()
    )
    verify_copy(copy, sha)
    copy.write_bytes(b"other")
    with pytest.raises(ModelIntegrityError, match="verified copy"):
        verify_copy(copy, sha)


def test_watch_reports_a_changed_or_missing_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model = _export(tmp_path)
    watch = ModelWatch(model, sha256_file(model))
    assert watch.check(force=True)["on_disk"] == "unchanged"
    side = model.with_name("model.onnx.json")
    side.write_text(side.read_text().replace('"config": {}', '"config": {"x": 1}'))
    assert watch.check()["on_disk"] == "unchanged"  # rate-limited: looked at most every 10 s
    assert watch.check(force=True)["on_disk"] == "changed"  # the sidecar counts too
    model.write_bytes(b"new")
    with caplog.at_level("WARNING", logger="liveness.server.integrity"):
        seen = watch.check(force=True)
    assert seen["on_disk"] == "changed" and seen["on_disk_sha256"] == sha256_file(model)
    assert "changed on disk since start-up" in caplog.text
    model.unlink()
    assert watch.check(force=True)["on_disk"] == "missing"
