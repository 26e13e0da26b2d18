"""Issue 6 service behaviour: readiness, one bad request, worker timeouts, a tampered model at
start-up, nothing written by default, no capture data in logs, audit retention."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask import Flask

from liveness import cli
from liveness.clip import Clip
from liveness.predict import Predictor
from liveness.server.app import create_app, set_predictor
from liveness.server.audit import AuditDirError
from liveness.server.integrity import ModelIntegrityError
from liveness.server.serve import ServeOptions, load_service_predictor, run_server
from liveness.server.settings import ServerSettings

from .serverkit import bundled_model, live_clip, multipart, predictor  # noqa: F401 - fixture
from .test_server_app import assert_error, check, new_session


@pytest.fixture(scope="module")
def clip() -> Clip:
    return live_clip(("left",))


def _app(tmp: Path, pred: Predictor | None, **kw: Any) -> Flask:
    kw.setdefault("sessions_url", f"sqlite:///{tmp / 'sessions.sqlite3'}")
    return create_app(ServerSettings(challenges=("left",), **kw), pred)


def test_readiness_turns_true_when_the_model_is_set(
    tmp_path: Path,
    predictor: Predictor,  # noqa: F811
) -> None:
    app = _app(tmp_path, None)
    c = app.test_client()
    r = c.get("/readyz")
    assert r.status_code == 503 and r.get_json() == {
        "ready": False,
        "model": None,
        "sessions": True,
    }
    assert c.get("/healthz").status_code == 200  # alive while loading
    set_predictor(app, predictor)
    r = c.get("/readyz")
    assert r.status_code == 200 and r.get_json()["ready"] is True


def test_one_failing_request_does_not_break_the_next(
    tmp_path: Path,
    clip: Clip,
    predictor: Predictor,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = {"n": 0}

    def flaky(*args: Any) -> np.ndarray:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("backend exploded at 0xdeadbeef")
        return np.asarray(predictor.backend(*args))

    app = _app(tmp_path, dataclasses.replace(predictor, backend=flaky))
    with caplog.at_level(logging.ERROR, logger="liveness.server"):
        r = check(app, new_session(app)["session_id"], multipart(clip))
    assert_error(r, 500, "internal_error")
    assert "0xdeadbeef" not in r.get_data(as_text=True)
    assert "backend exploded" in caplog.text  # the operator sees it, with its traceback
    r = check(app, new_session(app)["session_id"], multipart(clip))
    assert r.status_code == 200 and r.get_json()["live"] is True


class _Captured(Exception):
    pass


def _capture_gunicorn(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Stop run_server just before gunicorn would start; keep its configuration."""
    from gunicorn.app.base import BaseApplication

    seen: dict[str, Any] = {}

    def fake_run(self: Any) -> None:
        seen.update({k: self.cfg.settings[k].get() for k in self.cfg.settings})
        raise _Captured

    monkeypatch.setattr(BaseApplication, "run", fake_run)
    return seen


def test_worker_timeout_and_graceful_shutdown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _capture_gunicorn(monkeypatch)
    settings = ServerSettings(sessions_url=f"sqlite:///{tmp_path / 's.sqlite3'}")
    with pytest.raises(_Captured):
        run_server(settings, ServeOptions(model=str(bundled_model())))
    assert seen["timeout"] == 60 and seen["graceful_timeout"] == 20  # safe defaults
    assert seen["worker_class"] == "gthread" and seen["preload_app"] is False
    assert seen["limit_request_line"] == 4094 and seen["limit_request_fields"] == 100
    seen.clear()
    with pytest.raises(_Captured):
        cli.main(["serve", "--model", str(bundled_model()), "--timeout", "15",
                  "--sessions", f"sqlite:///{tmp_path / 's.sqlite3'}"])  # fmt: skip
    assert seen["timeout"] == 15


def test_tampered_model_is_refused_before_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    src = bundled_model()
    if src.suffix not in (".onnx", ".tflite"):
        pytest.fail(f"the bundled model {src.name} has no export sidecar to check against")
    copy = tmp_path / src.name
    shutil.copy(src, copy)
    shutil.copy(src.with_name(src.name + ".json"), tmp_path / (src.name + ".json"))
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit
    copy.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="does not match"):
        load_service_predictor(str(copy), threads=1, check_face=False)  # what each worker runs
    seen = _capture_gunicorn(monkeypatch)
    rc = cli.main(["serve", "--model", str(copy), "--sessions",
                   f"sqlite:///{tmp_path / 's.sqlite3'}"])  # fmt: skip
    assert rc == 2 and seen == {}  # gunicorn never started
    err = capsys.readouterr().err
    assert re.search(r"sha256 [0-9a-f]{16}… does not match .*refusing to serve it", err), err


def _files(*roots: Path) -> set[Path]:
    return {p for r in roots for p in r.rglob("*") if p.is_file()}


def test_default_check_writes_nothing_and_logs_no_capture(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    clip: Clip,
    predictor: Predictor,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    home, tmp, cwd = (tmp_path / n for n in ("home", "tmp", "cwd"))
    for d in (home, tmp, cwd):
        d.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", None)
    monkeypatch.chdir(cwd)
    app = create_app(ServerSettings(challenges=("left",)), predictor)  # every default
    before = _files(home, tmp, cwd)
    assert clip.imu is not None
    bad = clip.imu.tolist()
    bad[2][1] = None
    with caplog.at_level(logging.DEBUG):
        assert check(app, new_session(app)["session_id"], multipart(clip)).status_code == 200
        assert (
            check(app, new_session(app)["session_id"], multipart(clip, fmt="PNG")).status_code
            == 200
        )
        r = check(app, new_session(app)["session_id"], multipart(clip, imu=json.dumps(bad)))
        assert r.status_code == 422
    written = _files(home, tmp, cwd) - before
    db = home / ".cache/liveness/sessions.sqlite3"
    assert written <= {db, Path(f"{db}-wal"), Path(f"{db}-shm")}, written
    # The session store holds ids, challenges and times: no image or sensor data.
    raw = b"".join(p.read_bytes() for p in written)
    assert b"\xff\xd8\xff" not in raw and b"\x89PNG" not in raw and b"JFIF" not in raw
    for value in (clip.imu[5][4], clip.imu[9][2], clip.frame_t_ms[3]):
        assert repr(float(value)).encode() not in raw
    with sqlite3.connect(db) as conn:
        cols = {r[1] for t in ("sessions", "counters")
                for r in conn.execute(f"PRAGMA table_info({t})")}  # fmt: skip
    assert cols == {"id", "challenge", "expires_at", "used", "used_at", "key", "window", "count"}
    # Logs: verdicts and codes, never image bytes, base64 or sensor/timestamp arrays.
    text = "\n".join(rec.getMessage() for rec in caplog.records)
    assert "check " in text and "imu_unusable" in text
    assert not re.search(r"[A-Za-z0-9+/=]{120,}", text)
    assert "JFIF" not in text and "\\xff\\xd8" not in text and "PNG" not in text
    assert not re.search(r"\[\s*-?\d+\.\d+\s*,\s*-?\d+\.\d+\s*,", text)  # no number arrays
    for value in (clip.imu[5][4], clip.imu[9][2], clip.frame_t_ms[3]):
        assert repr(float(value)) not in text


def _audit_entry(root: Path, name: str) -> Path:
    """An old-looking directory placed in the audit dir by someone else (or an old entry)."""
    d = root / name
    (d / "frames").mkdir(parents=True)
    (d / "frames" / "00000.jpg").write_bytes(b"\xff\xd8\xff")
    return d


def _mode(p: Path) -> int:
    return p.stat().st_mode & 0o777


def test_audit_entries_past_retention_are_deleted_at_start(
    tmp_path: Path,
    clip: Clip,
    predictor: Predictor,  # noqa: F811
) -> None:
    audit = tmp_path / "audit"
    app = _app(tmp_path, predictor, audit_dir=audit, audit_days=1)
    assert check(app, new_session(app)["session_id"], multipart(clip)).status_code == 200
    (entry,) = [p for p in audit.iterdir() if not p.name.startswith(".")]
    assert (entry / "frames.csv").is_file() and (entry / "verdict.json").is_file()
    # Age the entry (its name carries its time): the next start deletes it, and only it.
    old = entry.rename(audit / ("20200101T000000Z" + entry.name[16:]))
    _app(tmp_path, predictor, audit_dir=audit, audit_days=1)
    assert not old.exists()  # purged when the service starts


def test_audit_retention_deletes_only_its_own_entries(
    tmp_path: Path,
    clip: Clip,
    predictor: Predictor,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A non-empty directory the audit trail did not create is refused, nothing touched.
    busy = tmp_path / "busy"
    unrelated = _audit_entry(busy, "20200101T000000Z-oldsession")
    with pytest.raises(AuditDirError, match="not empty and not an audit directory"):
        _app(tmp_path, predictor, audit_dir=busy, audit_days=1)
    assert unrelated.is_dir()
    seen = _capture_gunicorn(monkeypatch)
    rc = cli.main(["serve", "--model", str(bundled_model()), "--audit-dir", str(busy),
                   "--sessions", f"sqlite:///{tmp_path / 's.sqlite3'}"])  # fmt: skip
    assert rc == 2 and seen == {} and unrelated.is_dir()
    # In our own directory, folders we did not write (even entry-shaped, even old) are kept
    # and reported; our old entries go.
    audit = tmp_path / "audit"
    app = _app(tmp_path, predictor, audit_dir=audit, audit_days=1)
    assert check(app, new_session(app)["session_id"], multipart(clip)).status_code == 200
    (ours,) = [p for p in audit.iterdir() if not p.name.startswith(".")]
    ours = ours.rename(audit / ("20200101T000000Z" + ours.name[16:]))
    foreign = [_audit_entry(audit, "20200101T000000Z-notours"), _audit_entry(audit, "photos")]
    (audit / "notes.txt").write_text("keep me")
    with caplog.at_level(logging.WARNING, logger="liveness.server.audit"):
        _app(tmp_path, predictor, audit_dir=audit, audit_days=1)
    assert not ours.exists()
    assert all(f.is_dir() for f in foreign) and (audit / "notes.txt").is_file()
    assert "3 item(s) the audit trail did not write" in caplog.text


def test_audit_captures_are_private(
    tmp_path: Path,
    clip: Clip,
    predictor: Predictor,  # noqa: F811
) -> None:
    old_umask = os.umask(0o022)  # the usual umask: files would be 0644 without the fix
    try:
        audit = tmp_path / "audit"
        app = _app(tmp_path, predictor, audit_dir=audit, audit_days=1)
        assert check(app, new_session(app)["session_id"], multipart(clip)).status_code == 200
    finally:
        os.umask(old_umask)
    assert _mode(audit) == 0o700
    paths = list(audit.rglob("*"))
    assert any(p.suffix == ".jpg" for p in paths) and any(p.name == "imu.csv" for p in paths)
    for p in paths:
        assert _mode(p) == (0o700 if p.is_dir() else 0o600), (p, oct(_mode(p)))
