"""create_app: the Flask application (API v1, health/metrics, capture page) around a predictor."""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from liveness.predict import Predictor
from liveness.server.audit import Auditor
from liveness.server.errors import HTTP_CODES, ApiError
from liveness.server.integrity import model_info
from liveness.server.sessions import SessionStore, open_store
from liveness.server.settings import ServerSettings
from liveness.server.state import AppState, watch_model
from liveness.server.telemetry import Metrics

log = logging.getLogger("liveness.server")
# Metric labels take bounded values only: a client-chosen method would make a series each.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})


# The page loads only its own files; camera frames are shown from a blob: URL. No framing
# (clickjacking), camera and motion sensors for this origin only. HSTS is added under TLS by
# the front (liveness.server.front), which terminates it.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; manifest-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "Permissions-Policy": (
        "camera=(self), accelerometer=(self), gyroscope=(self), magnetometer=(), "
        "microphone=(), geolocation=(), payment=(), usb=()"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def method_label(method: str) -> str:
    return method if method in KNOWN_METHODS else "other"


def set_predictor(app: Flask, predictor: Predictor, sha256: str | None = None) -> None:
    """Attach a loaded predictor (readyz turns 200); sha256 of its file if already verified."""
    st: AppState = app.extensions["liveness"]
    st.model = model_info(predictor, sha256)
    st.predictor = predictor


def create_app(
    settings: ServerSettings,
    predictor: Predictor | None = None,
    store: SessionStore | None = None,
    clock: Callable[[], float] = time.time,
    model_sha256: str | None = None,
    metrics_dir: Path | None = None,
) -> Flask:
    """The service. `predictor` is loaded once by the caller (None: readyz 503 until
    set_predictor); `store` defaults to open_store(settings.sessions_url)."""
    from liveness.server import api, health, page  # blueprints

    app = Flask("liveness.server")
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        MAX_FORM_MEMORY_SIZE=settings.max_json_field_bytes,
        MAX_FORM_PARTS=2 * settings.max_frames + 16,  # beyond max_frames: a clear 413 of ours
        JSON_SORT_KEYS=False,
    )
    auditor = None
    if settings.audit_dir is not None:
        auditor = Auditor(settings.audit_dir, settings.audit_days)
        auditor.purge(clock())
    app.extensions["liveness"] = AppState(
        settings=settings,
        store=store if store is not None else open_store(settings.sessions_url),
        clock=clock,
        metrics=Metrics(metrics_dir),
        auditor=auditor,
    )
    if predictor is not None:
        set_predictor(app, predictor, model_sha256)
    if settings.trusted_proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]

    app.register_blueprint(api.bp, url_prefix="/api/v1")
    _limit_concurrency(app, "api.check", settings.max_concurrent_checks)
    app.register_blueprint(health.bp)
    app.register_blueprint(page.bp)
    _register_errors(app)

    @app.after_request
    def _after(resp: Response) -> Response:
        for k, v in SECURITY_HEADERS.items():
            resp.headers.setdefault(k, v)
        if request.path.startswith("/api/"):
            resp.headers.setdefault("Cache-Control", "no-store")
        endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
        st: AppState = app.extensions["liveness"]
        watch_model(st)  # at most a stat every 10 s
        st.metrics.inc(
            "liveness_http_requests_total",
            {
                "endpoint": endpoint,
                "method": method_label(request.method),
                "status": str(resp.status_code),
            },
        )
        return resp

    return app


def _limit_concurrency(app: Flask, endpoint: str, slots: int) -> None:
    """At most `slots` requests run `endpoint` at once in this process (memory bound)."""
    view = app.view_functions[endpoint]
    gate = threading.BoundedSemaphore(slots)

    @functools.wraps(view)
    def limited(*args: Any, **kwargs: Any) -> Any:
        with gate:
            return view(*args, **kwargs)

    app.view_functions[endpoint] = limited


def error_response(err: ApiError) -> tuple[Response, int, dict[str, str]]:
    return jsonify(err.body()), err.status, err.headers


def _too_large_message(app: Flask) -> str:
    """Which limit a 413 from Werkzeug hit: the whole body, or a form field / the part count."""
    body_limit = app.config["MAX_CONTENT_LENGTH"]
    length = request.content_length
    if length is None or length > body_limit:
        return f"request body too large (limit {body_limit} bytes)"
    return (
        f"a text field (frames_t_ms, imu) exceeds {app.config['MAX_FORM_MEMORY_SIZE']} bytes, or "
        f"the form has more than {app.config['MAX_FORM_PARTS']} parts"
    )


def _register_errors(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api(err: ApiError) -> Any:
        return error_response(err)

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException) -> Any:
        status = err.code or 500
        code = HTTP_CODES.get(status, "http_error")
        message = err.description or err.name
        if status == 413:
            message = _too_large_message(app)
        headers = dict(err.get_headers())
        headers.pop("Content-Type", None)
        return jsonify({"error": {"code": code, "message": message}}), status, headers

    @app.errorhandler(Exception)
    def _any(err: Exception) -> Any:
        # Logged with its traceback here; the client only learns that it was our fault.
        log.exception("unhandled error on %s %s", request.method, request.path)
        body = {"error": {"code": "internal_error", "message": "internal server error"}}
        return jsonify(body), 500
