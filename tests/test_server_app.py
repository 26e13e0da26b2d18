"""The Flask app end to end (test client): sessions, checks, every error path, audit, metrics."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask import Flask
from PIL import Image

from liveness.clip import Clip, read_clip
from liveness.predict import Predictor
from liveness.server.app import create_app
from liveness.server.settings import ServerSettings

from .serverkit import encode, live_clip, multipart, predictor  # noqa: F401 - fixture

AppFactory = Callable[..., Flask]


class Clock:
    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def make_app(tmp_path: Path, predictor: Predictor) -> AppFactory:  # noqa: F811
    def make(pred: Predictor | None = predictor, clock: Any = None, **kw: Any) -> Flask:
        kw.setdefault("sessions_url", f"sqlite:///{tmp_path / 'sessions.sqlite3'}")
        kw.setdefault("challenges", ("left",))
        args: dict[str, Any] = {"clock": clock} if clock else {}
        return create_app(ServerSettings(**kw), pred, **args)

    return make


@pytest.fixture(scope="module")
def clip() -> Clip:
    return live_clip(("left",))


def new_session(app: Flask) -> dict[str, Any]:
    r = app.test_client().post("/api/v1/sessions")
    assert r.status_code == 201, r.get_json()
    body: dict[str, Any] = r.get_json()
    return body


def check(app: Flask, sid: str, data: Any, **kw: Any) -> Any:
    return app.test_client().post(
        f"/api/v1/sessions/{sid}/check", data=data, content_type="multipart/form-data", **kw
    )


def assert_error(resp: Any, status: int, code: str) -> None:
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    assert "Traceback" not in resp.get_data(as_text=True)


def test_health_ready_and_not_ready(make_app: AppFactory) -> None:
    app = make_app()
    c = app.test_client()
    assert c.get("/healthz").get_json() == {"status": "ok"}
    r = c.get("/readyz")
    assert r.status_code == 200 and r.get_json()["ready"] is True
    model = r.get_json()["model"]
    assert len(model["sha256"]) == 64 and model["backend"] in ("torch", "onnx", "tflite")
    unloaded = make_app(pred=None)
    r = unloaded.test_client().get("/readyz")
    assert r.status_code == 503 and r.get_json()["ready"] is False
    sid = new_session(unloaded)["session_id"]
    assert_error(check(unloaded, sid, {}), 503, "not_ready")


def test_session_document(make_app: AppFactory) -> None:
    app = make_app(challenges=("left-up", "right-down"))
    body = new_session(app)
    assert len(body["session_id"]) >= 22  # >= 128 bits, url-safe
    assert set(body["session_id"]) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
    assert body["expires_in_s"] == 180 and body["expires_at"].endswith("Z")
    ch = body["challenge"]
    assert ch["id"] in ("left-up", "right-down") and ch["arrow"] == ch["id"].split("-")[0]
    assert [s["arrow"] for s in ch["steps"]] == ch["id"].split("-")
    cap = body["capture"]
    assert cap["duration_ms"] == 2000 and cap["min_frames"] == 8 and cap["max_frames"] == 64
    assert cap["max_upload_bytes"] == 8 * 1024 * 1024 and cap["imu_max_samples"] == 2000
    c = app.test_client()
    assert c.post("/api/v1/sessions", json={}).status_code == 201
    assert_error(c.post("/api/v1/sessions", json=[1]), 400, "bad_json")
    assert_error(c.post("/api/v1/sessions", data="x=1", content_type="text/plain"), 415,
                 "unsupported_media_type")  # fmt: skip


def test_live_check_matches_the_predictor(
    make_app: AppFactory,
    clip: Clip,
    predictor: Predictor,  # noqa: F811
) -> None:
    app = make_app()
    sid = new_session(app)["session_id"]
    r = check(app, sid, multipart(clip))
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    # The same clip after the JPEG round trip, judged by the one decision path the CLI uses:
    # the same verdict, score and motion agreement (the session adds only its challenge).
    frames = np.stack([np.asarray(Image.open(io.BytesIO(encode(f)))) for f in clip.frames])
    sent = Clip(frames, clip.frame_t_ms, clip.imu)
    direct, _ = predictor.assess(sent)
    assert body["score"] == pytest.approx(direct["score"], abs=1e-6)
    assert body["model_score"] == pytest.approx(direct["model_score"], abs=1e-6)
    assert body["threshold"] == direct["threshold"] and body["motion"] == direct["motion"]
    assert body["live"] == direct["live"]
    assert body["modalities"] == ["video", "imu"]
    assert body["challenge"]["id"] == "left" and body["challenge"]["followed"] is True
    assert body["challenge"]["judged_from"] == "imu+video"
    assert body["live"] is True and body["reasons"] == []
    assert set(body["timing_ms"]) >= {"decode", "model", "total"}
    assert body["model"]["sha256"] == app.extensions["liveness"].model["sha256"]
    # Single use: whatever the outcome, the session is spent.
    assert_error(check(app, sid, multipart(clip)), 410, "session_used")


def test_a_model_calibrated_with_the_flatness_cue_reports_it(
    make_app: AppFactory,
    clip: Clip,
    predictor: Predictor,  # noqa: F811
) -> None:
    """The cue travels in the model's configuration: a predictor whose fusion uses it answers
    with `relief` as the OpenAPI document describes it, and the CLI's path gives the same."""
    from liveness.server.openapi import SCHEMAS

    fusion = dataclasses.replace(predictor.config.fusion, w_relief=1.0)
    pred = dataclasses.replace(predictor, config=dataclasses.replace(predictor.config,
                                                                     fusion=fusion))  # fmt: skip
    app = make_app(pred)
    r = check(app, new_session(app)["session_id"], multipart(clip))
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    schema = SCHEMAS["CheckResult"]["properties"]["relief"]
    assert set(body["relief"]) == set(schema["required"])
    assert body["relief"]["misfit_pct"] > 0 and body["relief"]["points"] >= 12
    frames = np.stack([np.asarray(Image.open(io.BytesIO(encode(f)))) for f in clip.frames])
    direct, _ = pred.assess(Clip(frames, clip.frame_t_ms, clip.imu))
    assert body["relief"] == direct["relief"] and body["score"] == pytest.approx(direct["score"])
    codes = SCHEMAS["CheckResult"]["properties"]["reasons"]["items"]["properties"]["code"]["enum"]
    assert "face_flat" in codes and "scene_flat" in codes
    # The served default measures it for its near-and-flat gate, on the motion check's tracks,
    # where the room reads near; a model whose fusion and gates do not use it, never.
    plain = make_app()
    answer = check(plain, new_session(plain)["session_id"], multipart(clip)).get_json()
    room = answer["motion"]["room_per_m"]
    gate = predictor.config.fusion.near_gate_per_m
    assert ("relief" in answer) == (room is not None and room >= gate > 0), (room, gate)
    if "relief" in answer:
        assert answer["relief"]["region"] == "frame"
    bare = dataclasses.replace(predictor.config.fusion, near_gate_per_m=0.0)
    off = dataclasses.replace(predictor, config=dataclasses.replace(predictor.config, fusion=bare))
    app_off = make_app(off)
    answer = check(app_off, new_session(app_off)["session_id"], multipart(clip)).get_json()
    assert "relief" not in answer


def test_the_scene_misfit_travels_with_the_models_configuration(
    make_app: AppFactory,
    clip: Clip,
    predictor: Predictor,  # noqa: F811
) -> None:
    """A model whose motion check measures the scene (motion.scene) answers with its misfit in
    `motion` as the OpenAPI document describes it, the same as the CLI's path; a gate below the
    misfit refuses the capture as "scene_moves" with the numbers in words."""
    from liveness.server.openapi import SCHEMAS

    # Without the tracker's noise floor: this genuine clip's misfit is then above 0 (with it,
    # 0), so that a gate can be set below it.
    motion = dataclasses.replace(predictor.config.motion, scene=True, scene_noise_px=0.0)
    cfg = dataclasses.replace(predictor.config, motion=motion)
    pred = dataclasses.replace(predictor, config=cfg)
    app = make_app(pred)
    body = check(app, new_session(app)["session_id"], multipart(clip)).get_json()
    misfit = body["motion"]["scene_misfit"]
    assert isinstance(misfit, float) and 0 < misfit < 0.5, body["motion"]
    frames = np.stack([np.asarray(Image.open(io.BytesIO(encode(f)))) for f in clip.frames])
    direct, _ = pred.assess(Clip(frames, clip.frame_t_ms, clip.imu))
    assert direct["motion"]["scene_misfit"] == misfit
    props = SCHEMAS["CheckResult"]["properties"]
    assert "scene_misfit" in props["motion"]["properties"]
    assert "scene_moves" in props["reasons"]["items"]["properties"]["code"]["enum"]
    gate = dataclasses.replace(cfg.fusion, scene_gate=misfit / 2)
    strict = dataclasses.replace(pred, config=dataclasses.replace(cfg, fusion=gate))
    app = make_app(strict)
    body = check(app, new_session(app)["session_id"], multipart(clip)).get_json()
    assert body["live"] is False and body["score"] == 0.0
    assert body["reasons"][0]["code"] == "scene_moves", body["reasons"]


def test_wrong_challenge_is_not_live(make_app: AppFactory, clip: Clip) -> None:
    app = make_app(challenges=("right",))
    sid = new_session(app)["session_id"]
    body = check(app, sid, multipart(clip)).get_json()
    assert body["challenge"]["followed"] is False and body["live"] is False
    assert "challenge_not_followed" in [x["code"] for x in body["reasons"]]


def test_video_only_check_is_judged_from_the_video(make_app: AppFactory) -> None:
    app = make_app()
    sid = new_session(app)["session_id"]
    body = check(app, sid, multipart(live_clip(("left",), imu=False))).get_json()
    assert body["modalities"] == ["video"]
    assert body["challenge"]["judged_from"] == "video" and body["challenge"]["followed"] is True


def test_png_frames_are_accepted(make_app: AppFactory, clip: Clip) -> None:
    app = make_app()
    sid = new_session(app)["session_id"]
    assert check(app, sid, multipart(clip, fmt="PNG")).status_code == 200


def test_unknown_reused_expired(make_app: AppFactory, clip: Clip) -> None:
    clock = Clock()
    app = make_app(clock=clock, session_ttl_s=60)
    assert_error(check(app, "A" * 32, multipart(clip)), 404, "unknown_session")
    assert_error(check(app, "../../etc", multipart(clip)), 404, "not_found")
    sid = new_session(app)["session_id"]
    clock.t += 61
    assert_error(check(app, sid, multipart(clip)), 410, "session_expired")


def test_two_app_instances_share_one_sqlite_file(make_app: AppFactory, clip: Clip) -> None:
    a, b = make_app(), make_app()  # two workers
    sid = new_session(a)["session_id"]
    assert check(b, sid, multipart(clip)).status_code == 200
    assert_error(check(a, sid, multipart(clip)), 410, "session_used")


@pytest.mark.parametrize(
    ("mutate", "status", "code"),
    [
        (lambda d: d.pop("frames_t_ms"), 400, "missing_field"),
        (lambda d: d.update(frames_t_ms="[1, 2"), 400, "bad_json"),
        (lambda d: d.update(frames_t_ms='"12"'), 400, "bad_field"),
        (lambda d: d.update(frames_t_ms="[1, 2, 3]"), 400, "bad_field"),
        (lambda d: d.update(extra="1"), 400, "unknown_field"),
        (lambda d: d.update(imu='[[1, 2, 3]]'), 400, "bad_field"),
        (lambda d: d.update(imu='[[1, 2, 3, 4, 5, 6, "x"]]'), 400, "bad_field"),
        (lambda d: d.update(frames=d["frames"][:7]), 422, "too_few_frames"),
        (lambda d: d.update(frames_t_ms=json.dumps([0.0] * len(d["frames"]))), 422,
         "bad_timestamps"),
        (lambda d: d.update(frames_t_ms=json.dumps(list(range(len(d["frames"]))))), 422,
         "bad_timestamps"),  # 1000 fps: seconds sent as ms
        (lambda d: d.update(frames=[(io.BytesIO(b"GIF89a..."), "0.gif", "image/gif")] * 10), 415,
         "unsupported_media_type"),
        (lambda d: d.update(frames=[(io.BytesIO(b"not a jpeg"), "0.jpg", "image/jpeg")] * 10),
         400, "bad_frame"),
        (lambda d: d.update(frames=[(io.BytesIO(b"\xff\xd8\xff\xe0broken"), "0.jpg",
                                     "image/jpeg")] * 10), 400, "bad_frame"),
    ],
)  # fmt: skip
def test_bad_uploads(
    make_app: AppFactory,
    clip: Clip,
    mutate: Callable[[dict[str, Any]], Any],
    status: int,
    code: str,
) -> None:
    app = make_app()
    sid = new_session(app)["session_id"]
    data = multipart(clip)
    mutate(data)
    if len(data["frames"]) == 10:
        data["frames_t_ms"] = json.dumps([i * 66.0 for i in range(10)])
    assert_error(check(app, sid, data), status, code)


def test_nan_imu_is_422(make_app: AppFactory, clip: Clip) -> None:
    app = make_app()
    assert clip.imu is not None
    rows = clip.imu.tolist()
    rows[3][5] = None  # JSON.stringify writes NaN as null
    sid = new_session(app)["session_id"]
    r = check(app, sid, multipart(clip, imu=json.dumps(rows)))
    assert_error(r, 422, "imu_unusable")
    assert "gy is NaN" in r.get_json()["error"]["message"]
    rows[3][5] = 1e6  # far beyond any gyroscope
    sid = new_session(app)["session_id"]
    assert_error(check(app, sid, multipart(clip, imu=json.dumps(rows))), 422, "imu_unusable")


def test_no_face_is_422(make_app: AppFactory, clip: Clip) -> None:
    app = make_app()
    blank = Clip(np.full_like(clip.frames, 128), clip.frame_t_ms, clip.imu)
    sid = new_session(app)["session_id"]
    assert_error(check(app, sid, multipart(blank)), 422, "no_face")


def test_size_limits_are_413(make_app: AppFactory, clip: Clip) -> None:
    app = make_app(max_upload_bytes=20_000)
    sid = new_session(app)["session_id"]
    assert_error(check(app, sid, multipart(clip)), 413, "too_large")
    app = make_app(max_frames=16)
    sid = new_session(app)["session_id"]
    assert_error(check(app, sid, multipart(clip)), 413, "too_many_frames")
    app = make_app(max_frame_pixels=64 * 64)
    sid = new_session(app)["session_id"]
    assert_error(check(app, sid, multipart(clip)), 413, "frame_too_large")
    app = make_app(imu_max_samples=10)
    sid = new_session(app)["session_id"]
    assert_error(check(app, sid, multipart(clip)), 413, "too_many_imu_samples")


def test_bomb_header_rejected_before_decoding(make_app: AppFactory, clip: Clip) -> None:
    # A PNG whose header claims 20000x20000 px: refused from the header, never decoded.
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (20000, 20000)).save(buf, format="PNG", optimize=False)
    app = make_app(max_upload_bytes=4 * 1024 * 1024)
    sid = new_session(app)["session_id"]
    data = multipart(clip)
    data["frames"] = [(io.BytesIO(buf.getvalue()), f"{i}.png", "image/png") for i in range(10)]
    data["frames_t_ms"] = json.dumps([i * 66.0 for i in range(10)])
    data.pop("imu")
    assert_error(check(app, sid, data), 413, "frame_too_large")


def test_wrong_content_type_is_415(make_app: AppFactory) -> None:
    app = make_app()
    sid = new_session(app)["session_id"]
    r = app.test_client().post(f"/api/v1/sessions/{sid}/check", json={"frames": []})
    assert_error(r, 415, "unsupported_media_type")


def test_rate_limit_is_429_with_retry_after(make_app: AppFactory) -> None:
    clock = Clock(1_700_000_000.0)  # 20 s into a 60 s window
    app = make_app(clock=clock, rate_limit=3, rate_window_s=60)
    for _ in range(3):
        new_session(app)
    r = app.test_client().post("/api/v1/sessions")
    assert_error(r, 429, "rate_limited")
    assert r.headers["Retry-After"] == "60"  # sliding window: the first request leaves then
    clock.t += 60
    new_session(app)


def test_405_and_404_are_json(make_app: AppFactory) -> None:
    c = make_app().test_client()
    assert_error(c.get("/api/v1/sessions"), 405, "method_not_allowed")
    assert_error(c.get("/api/v1/nothing"), 404, "not_found")


def test_internal_error_is_500_json_without_traceback(
    make_app: AppFactory,
    clip: Clip,
    predictor: Predictor,  # noqa: F811
) -> None:
    def broken(*_: Any) -> np.ndarray:
        raise RuntimeError("secret internals")

    bad = dataclasses.replace(predictor, backend=broken)
    app = make_app(pred=bad)
    sid = new_session(app)["session_id"]
    r = check(app, sid, multipart(clip))
    assert_error(r, 500, "internal_error")
    assert "secret internals" not in r.get_data(as_text=True)


def test_metrics_count_requests_and_checks(make_app: AppFactory, clip: Clip) -> None:
    app = make_app()
    sid = new_session(app)["session_id"]
    check(app, sid, multipart(clip))
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'liveness_checks_total{verdict="live"} 1' in text
    assert 'endpoint="/api/v1/sessions",method="POST",status="201"' in text
    assert "liveness_check_seconds_count 1" in text
    assert "liveness_model_seconds_bucket" in text


def test_nothing_is_stored_by_default(make_app: AppFactory, clip: Clip, tmp_path: Path) -> None:
    app = make_app()
    sid = new_session(app)["session_id"]
    check(app, sid, multipart(clip))
    files = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    assert files <= {"sessions.sqlite3", "sessions.sqlite3-wal", "sessions.sqlite3-shm"}


def test_audit_mode_keeps_clips_and_expires_them(
    make_app: AppFactory, clip: Clip, tmp_path: Path
) -> None:
    clock = Clock()
    audit = tmp_path / "audit"
    app = make_app(clock=clock, audit_dir=audit, audit_days=2)
    sid = new_session(app)["session_id"]
    body = check(app, sid, multipart(clip)).get_json()
    (entry,) = [p for p in audit.iterdir() if not p.name.startswith(".")]
    kept = read_clip(entry)  # a contract clip directory
    assert kept.num_frames == clip.num_frames and kept.has_imu
    verdict = json.loads((entry / "verdict.json").read_text())
    assert verdict["score"] == body["score"] and verdict["session_id"] == sid
    st = app.extensions["liveness"]
    assert st.auditor.purge(clock.t + 1 * 86400) == 0
    assert st.auditor.purge(clock.t + 3 * 86400) == 1
    assert [p.name for p in audit.iterdir()] == [".liveness-audit"]  # only the marker is left


def test_accelerometer_of_the_other_sign_is_normalised(make_app: AppFactory, clip: Clip) -> None:
    """A client whose accelerometer reports gravity along −y (reported for some browser
    families) gets the same network score, and the answer records the flip."""
    assert clip.imu is not None
    flipped = clip.imu.copy()
    flipped[:, 1:4] *= -1.0
    app = make_app()
    same = check(app, new_session(app)["session_id"], multipart(clip)).get_json()
    other = check(app, new_session(app)["session_id"],
                  multipart(Clip(clip.frames, clip.frame_t_ms, flipped))).get_json()  # fmt: skip
    assert other["accel_sign_flipped"] is True and "accel_sign_flipped" not in same
    assert other["model_score"] == pytest.approx(same["model_score"], abs=1e-6)
