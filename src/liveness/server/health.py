"""Liveness/readiness probes and the Prometheus metrics endpoint."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from liveness.server.state import state

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Any:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Any:
    st = state()
    store_ok = st.store.ping()
    ready = st.predictor is not None and store_ok
    body: dict[str, Any] = {"ready": ready, "model": st.model or None, "sessions": store_ok}
    return jsonify(body), 200 if ready else 503


@bp.get("/metrics")
def metrics() -> Response:
    return Response(state().metrics.render(), mimetype="text/plain; version=0.0.4")
