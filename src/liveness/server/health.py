"""Liveness/readiness probes and the Prometheus metrics endpoint."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from liveness.server.state import state, watch_model

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
    on_disk = watch_model(st, force=True)
    if on_disk is not None:  # a change is reported; the verified model keeps being served
        body["model_file"] = on_disk
    return jsonify(body), 200 if ready else 503


@bp.get("/metrics")
def metrics() -> Response:
    watch_model(state(), force=True)
    return Response(state().metrics.render(), mimetype="text/plain; version=0.0.4")
