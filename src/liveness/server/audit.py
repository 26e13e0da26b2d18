"""Opt-in audit trail: each check kept as a contract clip directory + verdict.json, then expired."""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from liveness.clip import Clip, write_clip

log = logging.getLogger("liveness.server.audit")
STAMP = "%Y%m%dT%H%M%S"
PURGE_EVERY_S = 600.0


class Auditor:
    """Writes under `root` only when configured; entries older than `days` are deleted."""

    def __init__(self, root: Path, days: float) -> None:
        self.root = Path(root)
        self.days = days
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._last_purge = 0.0

    def record(
        self, session_id: str, clip: Clip, verdict: dict[str, Any], now: float
    ) -> Path | None:
        """Store one check; never raises (a full disk must not fail the user's check)."""
        stamp = datetime.fromtimestamp(now, UTC).strftime(STAMP)
        target = self.root / f"{stamp}Z-{session_id[:16]}"
        meta = {"session_id": session_id, "source": "liveness-server", "verdict": verdict}
        try:
            write_clip(target, Clip(clip.frames, clip.frame_t_ms, clip.imu, meta))
            (target / "verdict.json").write_text(
                json.dumps(verdict, indent=2, sort_keys=True) + "\n", encoding="utf-8"
            )
        except (OSError, ValueError) as e:
            log.error("audit: could not store %s: %s", target.name, e)
            return None
        self.maybe_purge(now)
        return target

    def maybe_purge(self, now: float) -> None:
        with self._lock:
            if now - self._last_purge < PURGE_EVERY_S:
                return
            self._last_purge = now
        self.purge(now)

    def purge(self, now: float | None = None) -> int:
        """Delete entries older than the retention; returns how many were deleted."""
        now = time.time() if now is None else now
        cutoff = now - self.days * 86400.0
        removed = 0
        for d in self.root.iterdir():
            if not d.is_dir() or d.name.startswith("."):
                continue
            try:
                t = datetime.strptime(d.name[: len("20250101T000000")], STAMP)
                created = t.replace(tzinfo=UTC).timestamp()
            except ValueError:
                created = d.stat().st_mtime
            if created < cutoff:
                shutil.rmtree(d, ignore_errors=True)
                removed += 1
        if removed:
            log.info("audit: deleted %d entries older than %g days", removed, self.days)
        return removed
