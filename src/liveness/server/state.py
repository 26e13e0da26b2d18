"""Per-app state shared by the blueprints: settings, predictor, session store, clock, metrics."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from liveness.predict import Predictor
from liveness.server.audit import Auditor
from liveness.server.integrity import ModelWatch
from liveness.server.sessions import SessionStore
from liveness.server.settings import ServerSettings
from liveness.server.telemetry import Metrics


@dataclass
class AppState:
    settings: ServerSettings
    store: SessionStore
    clock: Callable[[], float]
    metrics: Metrics
    predictor: Predictor | None = None
    model: dict[str, Any] = field(default_factory=dict)
    auditor: Auditor | None = None
    model_watch: ModelWatch | None = None  # under `liveness serve`: the model file on disk
    # The face detector (one LiteRT interpreter) is not thread-safe: model calls take turns.
    model_lock: threading.Lock = field(default_factory=threading.Lock)


def watch_model(st: AppState, force: bool = False) -> dict[str, Any] | None:
    """Look (rate-limited) whether the model file changed on disk; sets the metric."""
    if st.model_watch is None:
        return None
    seen = st.model_watch.check(force)
    changed = seen["on_disk"] != "unchanged"
    st.metrics.set_gauge("liveness_model_file_changed", 1.0 if changed else 0.0)
    return seen


def state() -> AppState:
    st: AppState = current_app.extensions["liveness"]
    return st
