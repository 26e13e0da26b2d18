"""Model integrity: a served model file must match the sha256 its export metadata records."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from liveness import __version__
from liveness.backends import sha256_file, sidecar_path

SIDECAR_FORMATS = (".onnx", ".tflite")  # exports carry <file>.json with "sha256"


class ModelIntegrityError(ValueError):
    """The model file is not the one its metadata describes (changed, truncated, swapped)."""


def verify_model_file(path: str | os.PathLike[str]) -> str:
    """Return the file's sha256 after checking it against the export sidecar.

    .onnx / .tflite: `<file>.json` must exist and its "sha256" must equal the file's, else
    ModelIntegrityError. .pt checkpoints carry no reference hash: the hash is only computed.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such model file")
    actual = sha256_file(p)
    if p.suffix not in SIDECAR_FORMATS:
        return actual
    side = sidecar_path(p)
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelIntegrityError(
            f"{p}: missing {side.name}, the export metadata holding its sha256; refusing to serve"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelIntegrityError(f"{side}: unreadable export metadata ({e})") from None
    expected = meta.get("sha256") if isinstance(meta, dict) else None
    if not isinstance(expected, str) or len(expected) != 64:
        raise ModelIntegrityError(f'{side}: no valid "sha256" entry; refusing to serve {p.name}')
    if expected.lower() != actual:
        raise ModelIntegrityError(
            f"{p}: sha256 {actual[:16]}… does not match {side.name} ({expected[:16]}…): the "
            "file was changed or corrupted after export; refusing to serve it"
        )
    return actual


def backend_name(backend: object) -> str:
    declared = getattr(backend, "name", None)
    if isinstance(declared, str):
        return declared
    name = type(backend).__name__.lower()
    for key, label in (("onnx", "onnx"), ("torch", "torch"), ("lite", "tflite")):
        if key in name:
            return label
    return name


def model_info(predictor: Any, sha256: str | None = None) -> dict[str, Any]:
    """What every check response and /readyz say about the model being served."""
    src = Path(predictor.source)
    if sha256 is None:
        sha256 = sha256_file(src) if src.is_file() else ""
    return {
        "version": __version__,
        "sha256": sha256,
        "backend": backend_name(predictor.backend),
        "file": src.name,
        "threshold": round(float(predictor.threshold), 6),
        "face_check": predictor.face is not None,
    }
