"""Prometheus metrics, summed over gunicorn workers through per-worker snapshot files."""

from __future__ import annotations

import json
import os
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
HELP = {
    "liveness_http_requests_total": ("counter", "HTTP requests by endpoint and status"),
    "liveness_checks_total": ("counter", "Checks by verdict (live, spoof, rejected)"),
    "liveness_check_seconds": ("histogram", "Check request latency, whole handler"),
    "liveness_model_seconds": ("histogram", "Model time per check (face check + preprocess + net)"),
    "liveness_model_file_changed": (
        "gauge",
        "1 when the model file on disk no longer matches the verified model served",
    ),
}
SNAPSHOT_EVERY_S = 1.0


class Metrics:
    """Counters and histograms of this process; with `shared_dir`, each worker writes its
    snapshot there (at most once a second) and /metrics sums every worker's file."""

    def __init__(self, shared_dir: Path | None = None) -> None:
        self._lock = threading.Lock()
        self.counters: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.hists: dict[str, list[float]] = {}  # name -> bucket counts + [sum, count]
        self.gauges: dict[str, float] = {}  # merged over workers by max
        self.shared_dir = shared_dir
        self._last_dump = 0.0

    def inc(self, name: str, labels: dict[str, str], value: float = 1.0) -> None:
        key = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        with self._lock:
            self.counters[name][key] += value
        self._maybe_dump()

    def set_gauge(self, name: str, value: float) -> None:
        with self._lock:
            self.gauges[name] = value
        self._maybe_dump()

    def observe(self, name: str, seconds: float) -> None:
        with self._lock:
            h = self.hists.setdefault(name, [0.0] * (len(BUCKETS) + 2))
            for i, b in enumerate(BUCKETS):
                if seconds <= b:
                    h[i] += 1
            h[-2] += seconds
            h[-1] += 1
        self._maybe_dump()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "counters": {n: dict(v) for n, v in self.counters.items()},
                "hists": {n: list(v) for n, v in self.hists.items()},
                "gauges": dict(self.gauges),
            }

    def _maybe_dump(self, force: bool = False) -> None:
        if self.shared_dir is None:
            return
        now = time.monotonic()
        if not force and now - self._last_dump < SNAPSHOT_EVERY_S:
            return
        self._last_dump = now
        path = self.shared_dir / f"worker-{os.getpid()}.json"
        tmp = path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(self.snapshot()))
            os.replace(tmp, path)
        except OSError:
            pass  # metrics must never fail a request

    def _merged(self) -> dict[str, Any]:
        if self.shared_dir is None:
            return self.snapshot()
        self._maybe_dump(force=True)
        total: dict[str, Any] = {
            "counters": defaultdict(lambda: defaultdict(float)),
            "hists": {},
            "gauges": {},
        }
        for f in sorted(self.shared_dir.glob("worker-*.json")):
            try:
                snap = json.loads(f.read_text())
            except (OSError, ValueError):
                continue
            for n, series in snap["counters"].items():
                for k, v in series.items():
                    total["counters"][n][k] += v
            for n, g in snap.get("gauges", {}).items():
                total["gauges"][n] = max(g, total["gauges"].get(n, g))
            for n, h in snap["hists"].items():
                acc = total["hists"].setdefault(n, [0.0] * len(h))
                total["hists"][n] = [a + b for a, b in zip(acc, h, strict=True)]
        return total

    def render(self) -> str:
        """Prometheus text exposition format 0.0.4."""
        snap = self._merged()
        lines: list[str] = []
        for name, (kind, text) in HELP.items():
            lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
            if kind == "counter":
                for key, v in sorted(snap["counters"].get(name, {}).items()):
                    lines.append(f"{name}{{{key}}} {v:g}" if key else f"{name} {v:g}")
                continue
            if kind == "gauge":
                if name in snap["gauges"]:
                    lines.append(f"{name} {snap['gauges'][name]:g}")
                continue
            h = snap["hists"].get(name, [0.0] * (len(BUCKETS) + 2))
            for b, c in zip(BUCKETS, h, strict=False):
                lines.append(f'{name}_bucket{{le="{b:g}"}} {c:g}')
            lines.append(f'{name}_bucket{{le="+Inf"}} {h[-1]:g}')
            lines += [f"{name}_sum {h[-2]:.6f}", f"{name}_count {h[-1]:g}"]
        return "\n".join(lines) + "\n"
