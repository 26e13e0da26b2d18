"""`liveness serve` for real: gunicorn, 2 workers on loopback, session + check, clean stop."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from .serverkit import bundled_model, free_port, live_clip, raw_multipart


def _call(url: str, data: bytes | None = None, ctype: str | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    if ctype:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.mark.slow
def test_serve_two_workers_end_to_end(tmp_path: Path) -> None:
    port = free_port()
    cmd = [
        sys.executable, "-m", "liveness.cli", "serve", "--model", str(bundled_model()),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
        "--sessions", f"sqlite:///{tmp_path / 'sessions.sqlite3'}", "--challenges", "left",
    ]  # fmt: skip
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if _call(base + "/readyz")[0] == 200:
                    break
            except (OSError, ValueError):
                pass
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "server not ready in 90 s"
            time.sleep(0.3)
        status, session = _call(base + "/api/v1/sessions", b"{}", "application/json")
        assert status == 201 and session["challenge"]["id"] == "left"
        body, ctype = raw_multipart(live_clip(("left",)))
        url = f"{base}/api/v1/sessions/{session['session_id']}/check"
        status, result = _call(url, body, ctype)
        assert status == 200, result
        assert result["challenge"]["followed"] is True and result["modalities"] == ["video", "imu"]
        # Whichever worker takes the replay, the session is spent.
        assert [_call(url, body, ctype)[0] for _ in range(3)] == [410, 410, 410]
        with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
            metrics = r.read().decode()
        assert "liveness_checks_total" in metrics
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=40)
        finally:
            if proc.poll() is None:
                proc.kill()
            log.close()
    assert code == 0, (tmp_path / "serve.log").read_text()


def test_no_overlap_reaches_each_worker_s_predictor(tmp_path: Path) -> None:
    """`liveness serve --no-overlap` -> ServerSettings.overlap False -> the worker's predictor
    runs every step on the request's thread (Predictor.overlap); the default overlaps."""
    from liveness.cli import build_parser
    from liveness.server.serve import ServeOptions, worker_app
    from liveness.server.settings import ServerSettings

    assert build_parser().parse_args(["serve", "--no-overlap"]).no_overlap is True
    assert build_parser().parse_args(["serve"]).no_overlap is False
    for overlap in (True, False):
        st = ServerSettings(sessions_url=f"sqlite:///{tmp_path / 's.sqlite3'}", overlap=overlap)
        app = worker_app(st, ServeOptions(model=str(bundled_model())), None)
        assert app.extensions["liveness"].predictor.overlap is overlap
