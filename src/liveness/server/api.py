"""API v1: create a session (with its challenge), check a capture against it, OpenAPI document."""

from __future__ import annotations

import json
import logging
import math
import re
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import Blueprint, current_app, jsonify, request

from liveness import challenge as ch
from liveness.clip import Clip
from liveness.judge import judge
from liveness.server.errors import ApiError
from liveness.server.multipart import boundary_of, parse_form
from liveness.server.openapi import openapi_document
from liveness.server.payload import parse_check
from liveness.server.sessions import Outcome
from liveness.server.state import AppState, state

bp = Blueprint("api", __name__)
log = logging.getLogger("liveness.server.api")
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{22,128}$")
T = TypeVar("T")


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _store(call: Callable[[], T]) -> T:
    """Run a session-store call; an unreachable store is a 503, not a crash."""
    try:
        return call()
    except Exception as e:
        log.error("session store error: %s: %s", type(e).__name__, e)
        raise ApiError(503, "sessions_unavailable", "session store unavailable, retry") from None


def _rate_limit(st: AppState) -> None:
    s = st.settings
    if not s.rate_limit:
        return
    client = request.remote_addr or "unknown"
    key, limit, window = f"ip:{client}", s.rate_limit, s.rate_window_s
    allowed, left = _store(lambda: st.store.take(key, limit, window, st.clock()))
    if not allowed:
        retry = max(1, math.ceil(left))
        raise ApiError(
            429, "rate_limited",
            f"more than {s.rate_limit} requests in {s.rate_window_s} s; retry in {retry} s",
            {"Retry-After": str(retry)},
        )  # fmt: skip


def _capture_params(st: AppState, cid: str) -> dict[str, Any]:
    s = st.settings
    return {
        "duration_ms": ch.duration_ms(cid, s.capture_duration_ms),
        "fps": s.capture_fps,
        "max_side": s.capture_max_side,
        "min_frames": s.min_frames,
        "max_frames": s.max_frames,
        "max_upload_bytes": s.max_upload_bytes,
        "max_frame_pixels": s.max_frame_pixels,
        "imu_max_samples": s.imu_max_samples,
    }


@bp.post("/sessions")
def create_session() -> Any:
    st = state()
    _rate_limit(st)
    data = request.get_data()  # bounded by MAX_CONTENT_LENGTH
    if data.strip():
        if request.mimetype != "application/json":
            raise ApiError(415, "unsupported_media_type", "send no body, or {} as application/json")
        try:
            options = json.loads(data)
        except (ValueError, RecursionError):
            options = None
        if not isinstance(options, dict):
            raise ApiError(400, "bad_json", "the body must be a JSON object ({}) or empty")
    cid = ch.draw(st.settings.challenges)
    sid = secrets.token_urlsafe(24)  # 192 bits
    now = st.clock()
    expires = now + st.settings.session_ttl_s
    _store(lambda: st.store.create(sid, cid, expires, now))
    params = _capture_params(st, cid)
    body = {
        "session_id": sid,
        "expires_at": iso(expires),
        "expires_in_s": st.settings.session_ttl_s,
        "challenge": ch.describe(cid, params["duration_ms"]),
        "capture": params,
    }
    return jsonify(body), 201, {"Location": f"/api/v1/sessions/{sid}"}


def _consume(st: AppState, sid: str) -> str:
    if not SESSION_ID.match(sid):
        raise ApiError(404, "unknown_session", "no such session")
    got = _store(lambda: st.store.consume(sid, st.clock()))
    if got.outcome is Outcome.UNKNOWN:
        raise ApiError(404, "unknown_session", "no such session (create one first)")
    if got.outcome is Outcome.USED:
        raise ApiError(410, "session_used", "this session was already used; create a new one")
    if got.outcome is Outcome.EXPIRED:
        raise ApiError(410, "session_expired", "this session expired; create a new one")
    return got.challenge


@bp.post("/sessions/<session_id>/check")
def check(session_id: str) -> Any:
    sid = session_id
    st = state()
    t_start = time.perf_counter()
    _rate_limit(st)
    if st.predictor is None:
        raise ApiError(503, "not_ready", "the model is still loading; retry shortly")
    predictor = st.predictor
    cid = _consume(st, sid)  # single use: whatever happens next, this session is spent
    verdict_label = "rejected"
    clip: Clip | None = None
    try:
        t0 = time.perf_counter()
        form, files = _form(st)
        # Every frame is decoded: the motion agreement (or, without sensors, the video
        # challenge judge) reads them all.
        clip = parse_check(request.mimetype, files, form, st.settings)
        t_decode = time.perf_counter() - t0
        timing: dict[str, float] = {}
        faces: dict[int, Any] = {}  # the face check's detections, reused by the judge
        with st.model_lock:  # the one decision path `liveness predict` uses too
            result, motion = predictor.assess(clip, timing, faces)
        if result.get("rejected") == "no_face":
            why = result["reasons"][0]["message"]
            raise ApiError(422, "no_face", f"no face in the guide oval: {why}")
        t_model, t_motion, t_wait = timing["model"], timing["motion"], timing["wait"]
        t0 = time.perf_counter()
        judged = judge(
            cid, clip.frames, clip.frame_t_ms, clip.imu, st.settings.min_turn_deg, motion, faces
        )
        t_challenge = time.perf_counter() - t0
        reasons = list(result["reasons"])
        if not judged.followed:
            reasons.append({"code": "challenge_not_followed", "message": judged.detail})
        live = bool(result["live"] and judged.followed)
        verdict_label = "live" if live else "spoof"
        body = {
            "session_id": sid,
            "live": live,
            "score": result["score"],
            "threshold": result["threshold"],
            "modalities": result["modalities"],
            "model_score": result["model_score"],
            "motion": result.get("motion"),
            **({"relief": result["relief"]} if "relief" in result else {}),
            **({"accel_sign_flipped": True} if result.get("accel_sign_flipped") else {}),
            "challenge": {
                "id": cid,
                "followed": judged.followed,
                "judged_from": judged.judged_from,
                "detail": judged.detail,
                "steps": judged.steps,
            },
            "reasons": reasons,
            "model": {k: st.model[k] for k in ("version", "sha256", "backend")},
            "server_time": iso(st.clock()),
            "timing_ms": {
                "decode": round(1000 * t_decode, 2),
                "model": round(1000 * t_model, 2),
                "motion": round(1000 * t_motion, 2),  # beside "model", on its own thread
                "motion_wait": round(1000 * t_wait, 2),  # what the verdict waited for it
                "challenge": round(1000 * t_challenge, 2),
                "total": round(1000 * (time.perf_counter() - t_start), 2),
            },
        }
        st.metrics.observe("liveness_model_seconds", t_model)
        _audit(st, sid, clip, body)
        log.info("check %s…: live=%s score=%.3f challenge=%s followed=%s",
                 sid[:8], live, result["score"], cid, judged.followed)  # fmt: skip
        return jsonify(body)
    except ApiError as e:
        if clip is not None:
            _audit(st, sid, clip, {"session_id": sid, "challenge": {"id": cid}, **e.body()})
        log.info("check %s…: %d %s", sid[:8], e.status, e.code)
        raise
    finally:
        st.metrics.inc("liveness_checks_total", {"verdict": verdict_label})
        st.metrics.observe("liveness_check_seconds", time.perf_counter() - t_start)


def _form(st: AppState) -> tuple[Any, Any]:
    """The check's text fields and file parts (empty unless the body is multipart)."""
    if request.mimetype != "multipart/form-data":
        return {}, {}  # parse_check answers 415
    body = request.get_data(cache=False)  # bounded by MAX_CONTENT_LENGTH (413)
    limits = current_app.config
    return parse_form(
        body, boundary_of(request.content_type or ""),
        limits["MAX_FORM_PARTS"], limits["MAX_FORM_MEMORY_SIZE"],
    )  # fmt: skip


def _audit(st: AppState, sid: str, clip: Clip, verdict: dict[str, Any]) -> None:
    if st.auditor is not None:
        st.auditor.record(sid, clip, verdict, st.clock())


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(openapi_document())
