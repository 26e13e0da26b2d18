"""Model integrity: a served model file must match the sha256 its export metadata records."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from liveness import __version__
from liveness.backends import sha256_file, sidecar_path

log = logging.getLogger("liveness.server.integrity")
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
    return _checked(p, sha256_file(p), _read_sidecar(p))


def _read_sidecar(p: Path) -> bytes | None:
    if p.suffix not in SIDECAR_FORMATS:
        return None
    side = sidecar_path(p)
    try:
        return side.read_bytes()
    except FileNotFoundError:
        raise ModelIntegrityError(
            f"{p}: missing {side.name}, the export metadata holding its sha256; refusing to serve"
        ) from None
    except OSError as e:
        raise ModelIntegrityError(f"{side}: unreadable export metadata ({e})") from None


def _checked(p: Path, actual: str, sidecar: bytes | None) -> str:
    """`actual` (the model bytes' sha256) if the sidecar bytes vouch for it, else raise."""
    if p.suffix not in SIDECAR_FORMATS:
        return actual
    side = sidecar_path(p)
    try:
        meta = json.loads((sidecar or b"").decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
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


def snapshot_model(path: str | os.PathLike[str], into: Path) -> tuple[Path, str]:
    """Read the model file (and its sidecar) once, verify those bytes and keep them in `into`
    (a private 0700 directory): (copy, sha256). Workers load the copy, never the original, so
    a file changed on disk later is never loaded and cannot stop a worker from booting."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such model file")
    data = p.read_bytes()
    sidecar = _read_sidecar(p)
    sha = _checked(p, hashlib.sha256(data).hexdigest(), sidecar)
    into.mkdir(mode=0o700, parents=True, exist_ok=True)
    copy = into / p.name
    for target, content in ((copy, data), (sidecar_path(copy), sidecar)):
        if content is not None:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(content)
    return copy, sha


def verify_copy(copy: Path, sha256: str) -> None:
    """A worker's check that the private copy still holds the bytes the master verified."""
    if sha256_file(copy) != sha256:
        raise ModelIntegrityError(f"{copy}: the verified copy of the model was changed")


class ModelWatch:
    """Reports (never loads) a change of the served model file on disk after start-up.

    `check` looks at the file's stat at most every `every_s` seconds and hashes it (and its
    sidecar) only when the stat changed; a change is logged once per new state."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        sha256: str,
        served_copy: Path | None = None,
        every_s: float = 10.0,
    ) -> None:
        """`served_copy`: the verified snapshot (its sidecar is what is served)."""
        self.path = Path(path)
        self.sha256 = sha256
        self.every_s = every_s
        side = sidecar_path(served_copy or self.path)
        self._sidecar = _digest(side) if self.path.suffix in SIDECAR_FORMATS else None
        self._lock = threading.Lock()
        self._last = 0.0
        self._sig: tuple[Any, ...] | None = None
        self.state: dict[str, Any] = {"path": str(self.path), "on_disk": "unchanged"}

    @property
    def changed(self) -> bool:
        return self.state["on_disk"] != "unchanged"

    def check(self, force: bool = False) -> dict[str, Any]:
        now = time.monotonic()
        with self._lock:
            if not force and now - self._last < self.every_s:
                return dict(self.state)
            self._last = now
            files = [self.path] + ([sidecar_path(self.path)] if self._sidecar else [])
            sig = tuple(_stat(f) for f in files)
            if sig == self._sig:
                return dict(self.state)
            self._sig = sig
            state: dict[str, Any] = {"path": str(self.path)}
            on_disk = _digest(self.path)
            if on_disk is None:
                state["on_disk"] = "missing"
            elif on_disk != self.sha256 or (
                self._sidecar is not None and _digest(sidecar_path(self.path)) != self._sidecar
            ):
                state.update(on_disk="changed", on_disk_sha256=on_disk)
            else:
                state["on_disk"] = "unchanged"
            if state != self.state and state["on_disk"] != "unchanged":
                log.warning(
                    "model file %s is %s on disk since start-up; still serving the verified "
                    "model loaded then (sha256 %s…); restart the service to load a new one",
                    self.path, state["on_disk"], self.sha256[:16],
                )  # fmt: skip
            self.state = state
            return dict(state)


def _stat(p: Path) -> tuple[Any, ...]:
    try:
        st = p.stat()
    except OSError:
        return ()
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _digest(p: Path) -> str | None:
    try:
        return sha256_file(p)
    except OSError:
        return None


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
