"""Opt-in audit trail: each check kept as a private clip directory + verdict.json, then expired."""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from liveness.clip import Clip, write_clip

log = logging.getLogger("liveness.server.audit")
STAMP = "%Y%m%dT%H%M%S"
PURGE_EVERY_S = 600.0
MARKER = ".liveness-audit"  # in the root: {"audit_id": ...}; makes the directory ours
ENTRY_MARKER = ".liveness-audit-entry"  # in each entry: the same audit_id
STAGING = ".liveness-staging-"  # entries are written here (0700), then renamed into place
ENTRY_NAME = re.compile(r"^(\d{8}T\d{6})Z-[A-Za-z0-9_-]{1,16}$")
STAGING_MAX_AGE_S = 3600.0  # a staging directory this old was left by a crash


class AuditDirError(ValueError):
    """--audit-dir names a directory that holds things the audit trail did not write."""


def _private_tree(root: Path) -> None:
    """Directories 0700, files 0600 (captures are biometric data)."""
    os.chmod(root, 0o700)
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            os.chmod(os.path.join(dirpath, d), 0o700)
        for f in filenames:
            os.chmod(os.path.join(dirpath, f), 0o600)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def open_audit_dir(root: Path) -> str:
    """Create or adopt `root` (0700) and return its audit id.

    A new or empty directory gets the marker; a directory with our marker is reused; any
    other non-empty directory is refused (AuditDirError): retention must never delete what
    the audit trail did not write.
    """
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    marker = root / MARKER
    if marker.is_file():
        try:
            audit_id = json.loads(marker.read_text(encoding="utf-8"))["audit_id"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise AuditDirError(f"{marker}: unreadable audit marker ({e})") from None
        if not isinstance(audit_id, str) or not re.fullmatch(r"[0-9a-f]{32}", audit_id):
            raise AuditDirError(f"{marker}: not a valid audit marker")
    else:
        if any(root.iterdir()):
            raise AuditDirError(
                f"{root}: not empty and not an audit directory of liveness (no {MARKER}); "
                "refusing to use it, since retention deletes old entries: give a new or "
                "empty directory"
            )
        audit_id = secrets.token_hex(16)
        try:
            _write_private(marker, json.dumps({"audit_id": audit_id}) + "\n")
        except FileExistsError:  # another worker adopted it first
            return open_audit_dir(root)
    os.chmod(root, 0o700)
    return str(audit_id)


class Auditor:
    """Writes under `root` only when configured; its own entries older than `days` are
    deleted, anything else there is reported and left alone."""

    def __init__(self, root: Path, days: float) -> None:
        self.root = Path(root)
        self.days = days
        self.audit_id = open_audit_dir(self.root)
        self._lock = threading.Lock()
        self._last_purge = 0.0

    def record(
        self, session_id: str, clip: Clip, verdict: dict[str, Any], now: float
    ) -> Path | None:
        """Store one check; never raises (a full disk must not fail the user's check)."""
        stamp = datetime.fromtimestamp(now, UTC).strftime(STAMP)
        name = f"{stamp}Z-{re.sub(r'[^A-Za-z0-9_-]', '_', session_id[:16])}"
        target = self.root / name
        meta = {"session_id": session_id, "source": "liveness-server", "verdict": verdict}
        staging: Path | None = None
        try:
            staging = Path(tempfile.mkdtemp(prefix=STAGING, dir=self.root))  # 0700
            entry = write_clip(staging / name, Clip(clip.frames, clip.frame_t_ms, clip.imu, meta))
            _write_private(
                entry / "verdict.json", json.dumps(verdict, indent=2, sort_keys=True) + "\n"
            )
            _write_private(entry / ENTRY_MARKER, self.audit_id + "\n")
            _private_tree(entry)
            os.rename(entry, target)  # fails if the target exists: never overwrites
        except (OSError, ValueError) as e:
            log.error("audit: could not store %s: %s", name, e)
            return None
        finally:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
        self.maybe_purge(now)
        return target

    def maybe_purge(self, now: float) -> None:
        with self._lock:
            if now - self._last_purge < PURGE_EVERY_S:
                return
            self._last_purge = now
        self.purge(now)

    def _is_ours(self, d: Path) -> bool:
        try:
            return (d / ENTRY_MARKER).read_text(encoding="utf-8").strip() == self.audit_id
        except (OSError, UnicodeDecodeError):
            return False

    def purge(self, now: float | None = None) -> int:
        """Delete our entries older than the retention; returns how many were deleted.

        Only directories named like an entry and holding this directory's entry marker are
        deleted (plus staging directories a crash left); anything else is logged, kept."""
        now = time.time() if now is None else now
        cutoff = now - self.days * 86400.0
        removed, foreign = 0, []
        for d in sorted(self.root.iterdir()):
            if d.name == MARKER:
                continue
            if d.name.startswith(STAGING) and d.is_dir() and not d.is_symlink():
                if d.stat().st_mtime < now - STAGING_MAX_AGE_S:
                    shutil.rmtree(d, ignore_errors=True)
                continue
            m = ENTRY_NAME.match(d.name)
            if m is None or d.is_symlink() or not d.is_dir() or not self._is_ours(d):
                foreign.append(d.name)
                continue
            created = datetime.strptime(m.group(1), STAMP).replace(tzinfo=UTC).timestamp()
            if created < cutoff:
                shutil.rmtree(d, ignore_errors=True)
                removed += 1
        if removed:
            log.info("audit: deleted %d entries older than %g days", removed, self.days)
        if foreign:
            shown = ", ".join(repr(n[:40]) for n in foreign[:5])
            log.warning(
                "audit: %s holds %d item(s) the audit trail did not write (%s%s); they are "
                "never deleted, move them elsewhere",
                self.root, len(foreign), shown, ", …" if len(foreign) > 5 else "",
            )  # fmt: skip
        return removed
