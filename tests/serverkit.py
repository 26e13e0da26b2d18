"""Shared helpers for the server tests: predictor, real redis-server, clips as multipart uploads."""

from __future__ import annotations

import importlib.util
import io
import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import liveness.predict as predict_mod
from liveness.clip import Clip
from liveness.predict import Predictor, load_predictor
from liveness.synth.sequence import render_sequence

LIVE_SEED = 6  # render_sequence(..., seed=6) scores ~0.93 with the bundled model (threshold ~0.92)


def bundled_model() -> Path:
    """The bundled model the service serves by default (the checkpoint while no export exists)."""
    bundled = Path(predict_mod.BUNDLED)
    return bundled if bundled.is_file() else bundled.with_name("default.pt")


@pytest.fixture(scope="session")
def predictor() -> Predictor:
    return load_predictor(bundled_model(), threads=1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real, throw-away redis-server on a free loopback port (CI installs redis-server)."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server is not installed (Debian: apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server did not start on port {port}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def live_clip(steps: tuple[str, ...] = ("left",), seed: int = LIVE_SEED, imu: bool = True) -> Clip:
    r = render_sequence(list(steps), seed, has_imu=imu)
    return Clip(r.frames, r.frame_t_ms, r.imu)


def encode(frame: np.ndarray, fmt: str = "JPEG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format=fmt, quality=90)
    return buf.getvalue()


def multipart(
    clip: Clip, fmt: str = "JPEG", mimetype: str | None = None, **override: Any
) -> dict[str, Any]:
    """Form data for Flask's test client (the same fields the page sends)."""
    mime = mimetype or ("image/png" if fmt == "PNG" else "image/jpeg")
    ext = "png" if fmt == "PNG" else "jpg"
    data: dict[str, Any] = {
        "frames": [
            (io.BytesIO(encode(f, fmt)), f"{i:05d}.{ext}", mime) for i, f in enumerate(clip.frames)
        ],
        "frames_t_ms": json.dumps(np.asarray(clip.frame_t_ms).tolist()),
    }
    if clip.imu is not None:
        data["imu"] = json.dumps(np.asarray(clip.imu).tolist())
    for k, v in override.items():
        if v is None:
            data.pop(k, None)
        else:
            data[k] = v
    return data


def raw_multipart(clip: Clip, imu: bool = True) -> tuple[bytes, str]:
    """(body, content type) of the check form, for plain HTTP clients."""
    boundary = "liveness-test-boundary"
    out = io.BytesIO()
    for i, f in enumerate(clip.frames):
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="frames"; '
            f'filename="{i:05d}.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
        )
        out.write(head.encode())
        out.write(encode(f) + b"\r\n")
    fields = {"frames_t_ms": json.dumps(np.asarray(clip.frame_t_ms).tolist())}
    if imu and clip.imu is not None:
        fields["imu"] = json.dumps(np.asarray(clip.imu).tolist())
    for k, v in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode())
        out.write(v.encode() + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def load_bench(name: str) -> Any:
    """A script of bench/ as a module (its functions are what the bounded CI runs call)."""
    path = Path(__file__).resolve().parents[1] / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
