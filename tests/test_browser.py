"""The capture page end to end in a real headless Chromium (issue 5).

Chromium films a fake camera fed from a .y4m made of a generated clip, receives that clip's
IMU through CDP virtual sensors in step with the video, and posts to the real service
(`create_app` with the bundled model) served in-process. The test records what the server
received (through a predictor wrapper, test code only) and checks it against what was played.

Facts these tests rely on: ../shared/notes/browser-tests.md.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright import sync_api

from liveness.clip import Clip, write_clip
from liveness.config import SynthConfig
from liveness.predict import Predictor, load_predictor, predict_paths
from liveness.synth.atlas import sample_atlas
from liveness.synth.clipgen import render_clip
from liveness.synth.spec import ClipSpec

from .browser_util import (
    OBSERVER_JS,
    STAMPS_JS,
    Playback,
    Timeline,
    clock_offset_ms,
    enable_sensors,
    imu_at,
    mark_frames,
    read_mark,
    set_motion,
    write_y4m,
)

CHROMIUM = "/usr/bin/chromium"
if not Path(CHROMIUM).exists():  # not skipped: these tests are part of CI
    raise RuntimeError(f"{CHROMIUM} not installed: run `make sysdeps` (apt-get install chromium)")

pytestmark = pytest.mark.slow

FPS = 15  # the fake camera's rate (y4m F15:1) and the server's capture fps
CHALLENGE = "left"  # the server draws from this one challenge; the clips move that way
# Live candidates (seed, subject, index): of those the bundled model accepts from their clip
# directory, the one with the most room under both motion gates (the agreement's minimum
# score, the moving-scene gate's level) is played. These tests check the page's path (camera,
# sensors, timing), not the motion check's borderline captures. The page's own capture moves
# both numbers from run to run: the virtual sensors' readings reach the page at its own ~60 Hz
# ticks, a new sampling of the clip's 69 Hz gyro each time. 1/6/100, played until session 22
# (directory: misfit 0.52 against the gate's 0.91), read 0.63-0.97 through the page and was
# refused as scene_moves in 2 of 14 runs; 1/1/100 (0.37) read 0.54-0.66 in 14 (docs/MOTION.md,
# "A tiled wall", where session 21 first blamed the seeded tracker).
LIVE_CANDIDATES = ((1, 4, 101), (1, 7, 100), (1, 6, 100), (1, 1, 100))
ATTACK = (1, 4, 102, "print", "held")
LEAD_S = 1.85  # camera frames before the clip starts: camera start + session + countdown
TAIL = 8  # frames holding the clip's last frame after it
LOOKAHEAD_MS = 8.0  # a reading is set a little ahead: CDP -> devicemotion takes a few ms
CLOCK_TOL_MS = 10.0  # error of the test's page-clock estimate (round trips are ~1-3 ms)
# Screenshots go to $LIVENESS_BROWSER_ARTIFACTS when set, else to a pytest temporary directory.
ARTIFACTS_ENV = "LIVENESS_BROWSER_ARTIFACTS"

LAUNCH_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]


# ----------------------------------------------------------------------------- clips


@dataclass
class Played:
    """A clip as the camera plays it (frames marked) and its timeline in the y4m file."""

    name: str
    clip: Clip  # frames as played (marked), the clip's own times and IMU
    timeline: Timeline
    direct: dict[str, Any]  # predict_paths result for the clip directory


def render(seed: int, subject: int, index: int, attack: str = "none", variant: str = "normal"):
    cfg = SynthConfig(fps=(FPS, FPS), duration_s=(2.0, 2.0))
    spec = ClipSpec(index, subject, attack, variant, has_imu=True, challenge=CHALLENGE)
    atlas = sample_atlas(np.random.default_rng([seed, 0x5B, subject]))
    return render_clip(spec, atlas, cfg, seed)


def as_played(r: Any, name: str, lead: int) -> tuple[Clip, Timeline]:
    # Frames at the generator's own 96x128: the bundled model's live scores sit within ~0.02
    # of its threshold, and upscaling for the camera (then JPEG, then the model's downscale)
    # costs about 0.01 of score.
    f, n = r.frames, len(r.frames)
    file_frames = np.concatenate([np.repeat(f[:1], lead, 0), f, np.repeat(f[-1:], TAIL, 0)])
    file_frames = mark_frames(file_frames)
    clip = Clip(file_frames[lead : lead + n], r.frame_t_ms, r.imu, dict(r.meta, name=name))
    return clip, Timeline(file_frames, lead, FPS, np.asarray(r.frame_t_ms))


@pytest.fixture(scope="session")
def predictor() -> Predictor:
    """The bundled model, as `liveness serve` loads it by default."""
    return load_predictor()


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory, predictor: Predictor) -> dict[str, Played]:
    """The live clip (best of LIVE_CANDIDATES, scored from its directory) and the attack."""
    root = tmp_path_factory.mktemp("clips")
    lead = round(LEAD_S * FPS)
    made: list[tuple[str, Clip, Timeline]] = []
    for seed, subject, index in LIVE_CANDIDATES:
        name = f"live_{seed}_{subject}_{index}"
        made.append((name, *as_played(render(seed, subject, index), name, lead)))
    seed, subject, index, attack, variant = ATTACK
    name = f"{attack}_{seed}_{subject}_{index}"
    made.append((name, *as_played(render(seed, subject, index, attack, variant), name, lead)))
    dirs = [write_clip(root / n, c, jpeg_quality=95) for n, c, _ in made]
    scores = {Path(r["clip"]).name: r for r in predict_paths(predictor, map(str, dirs))}
    played = {n: Played(n, c, tl, scores[n]) for n, c, tl in made}

    def clearly_live(p: Played) -> tuple[bool, float]:
        """Accepted first, then the least relative room under either motion gate."""
        motion, cfg = p.direct.get("motion") or {}, predictor.config
        room = (float(motion.get("score") or 0.0) - cfg.motion.min_score) / cfg.motion.min_score
        gate, misfit = cfg.fusion.scene_gate, motion.get("scene_misfit")
        if gate > 0 and misfit is not None:
            room = min(room, (gate - float(misfit)) / gate)
        return bool(p.direct.get("live")), room

    live = max((p for p in played.values() if p.name.startswith("live")), key=clearly_live)
    return {"live": live, "attack": played[name]}


# ----------------------------------------------------------------------------- server


@dataclass
class RecordingPredictor(Predictor):
    """The real predictor, remembering every clip the server decoded (test code only), so the
    test can inspect all that was sent."""

    received: list[Clip] = field(default_factory=list)

    def check_face(self, clip: Clip) -> Any:
        self.received.append(clip)
        return super().check_face(clip)


@dataclass
class Server:
    url: str
    predictor: RecordingPredictor
    settings: Any


@contextmanager
def serve(tmp: Path, predictor: Predictor, **settings: Any) -> Iterator[Server]:
    """The real app on 127.0.0.1 (a secure context) in a thread, its sessions under `tmp`."""
    from werkzeug.serving import make_server

    from liveness.server import ServerSettings, create_app

    given = {f.name: getattr(predictor, f.name) for f in fields(predictor) if f.init}
    rec = RecordingPredictor(**given)
    st = ServerSettings(
        sessions_url=f"sqlite:///{tmp / 'sessions.sqlite3'}",
        capture_fps=FPS,
        rate_limit=0,
        **settings,
    )
    srv = make_server("127.0.0.1", 0, create_app(st, rec), threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{srv.server_port}", rec, st)
    finally:
        srv.shutdown()
        thread.join(5)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, predictor: Predictor) -> Iterator[Server]:
    """The service drawing its challenge from CHALLENGE only (the way the clips move)."""
    with serve(tmp_path_factory.mktemp("server"), predictor, challenges=(CHALLENGE,)) as s:
        yield s


# ----------------------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def camera_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fake camera's file: each test writes its clip here before opening its page (the
    camera reopens the file whenever the page starts it)."""
    return tmp_path_factory.mktemp("camera") / "camera.y4m"


@pytest.fixture(scope="session")
def browser(camera_file: Path) -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[*LAUNCH_ARGS, f"--use-file-for-fake-video-capture={camera_file}"],
        )
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get(ARTIFACTS_ENV):
        out = Path(os.environ[ARTIFACTS_ENV])
        out.mkdir(parents=True, exist_ok=True)
        return out
    return tmp_path_factory.mktemp("browser-artifacts")


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 412, "height": 900}, device_scale_factor=1)
    pg = ctx.new_page()
    pg.set_default_timeout(20_000)
    pg.add_init_script(OBSERVER_JS)
    # The page must run under the service's strict Content-Security-Policy (issue 12).
    violations: list[str] = []
    pg.on("console", lambda m: violations.append(m.text) if "Security Policy" in m.text else None)
    try:
        yield pg
    finally:
        ctx.close()
    assert not violations, violations


def state(page: Any) -> str:
    return str(page.evaluate("document.getElementById('app').dataset.state"))


def estimate_t0(page: Any, period: float) -> float | None:
    """Page time at which the camera showed file frame 0 (from the observer), or None yet."""
    seen = page.evaluate("window.__camFrames || []")
    first_loop = [(x[0], x[1]) for x in seen if x[1] < 200]
    if len(first_loop) < 4:
        return None
    return float(np.median([t - code * period for t, code in first_loop[:30]]))


def play(page: Any, cdp: Any, played: Played, budget_s: float = 15.0) -> Playback:
    """Feed the clip's IMU to the virtual sensors in step with the fake camera until the
    capture is over; returns what was sent and when (page clock)."""
    tl, imu = played.timeline, played.clip.imu
    assert imu is not None
    offset = clock_offset_ms(page)
    out = Playback()
    t_end_clip = float(tl.clip_t_ms[-1]) + 400.0
    deadline = time.monotonic() + budget_s
    next_poll = 0.0
    while time.monotonic() < deadline:
        now = 1000.0 * time.perf_counter() + offset
        if out.t0 is None and now >= next_poll:
            out.t0 = estimate_t0(page, tl.period_ms)
            next_poll = now + 40.0
        clip_t = -np.inf if out.t0 is None else tl.clip_time(now + LOOKAHEAD_MS, out.t0)
        if clip_t > t_end_clip:
            break
        v = imu_at(imu, clip_t)
        out.t_page.append(1000.0 * time.perf_counter() + offset)  # before: it may apply at once
        set_motion(cdp, v[:3], v[3:])
        out.values.append(v)
        time.sleep(0.004)
    return out


def wait_done(page: Any) -> str:
    page.wait_for_selector("main[data-state='result'], main[data-state='error']")
    st = state(page)
    if st == "error":
        msg = page.inner_text("#error")
        raise AssertionError(f"the page shows an error: {msg}")
    return st


def received_marks(clip: Clip) -> np.ndarray:
    return np.array([read_mark(f) for f in clip.frames])


def check_frames(
    server_clip: Clip, played: Played, t0: float | None, min_frames: int
) -> dict[str, float]:
    """Frames as the server decoded them: count, rate, order, times, not mirrored."""
    tl = played.timeline
    n = server_clip.num_frames
    assert n >= min_frames, n
    t = server_clip.frame_t_ms
    dt = np.diff(t)
    assert np.all(dt > 0)
    assert abs(np.median(dt) - tl.period_ms) < 5.0, np.median(dt)
    marks = received_marks(server_clip)
    # Consecutive camera frames, as the camera played them (no frame dropped or repeated).
    assert np.all(np.diff(marks) == 1), marks
    # Each frame is the file frame its marker names, not its mirror image.
    for f, m in zip(server_clip.frames, marks, strict=True):
        src = tl.source_frame(int(m)).astype(np.float32)
        got = f.astype(np.float32)
        same = np.mean((got - src) ** 2)
        mirrored = np.mean((got - src[:, ::-1]) ** 2)
        assert same < 0.1 * mirrored, (same, mirrored)
        # ... with the clip's levels: neither stretched nor squeezed on the way (a colour-range
        # mismatch in the camera path once stretched the contrast by 16 %).
        assert abs(got.std() / src.std() - 1.0) < 0.05, (got.std(), src.std())
        assert abs(got.mean() - src.mean()) < 4.0, (got.mean(), src.mean())
    # Where the capture window fell in the clip (0: it began with the clip's first frame).
    stats = {
        "frames": n,
        "frame_dt_ms": float(np.median(dt)),
        "start_vs_clip": int(marks[0]) - tl.lead,
    }
    if t0 is not None:
        # Each frame's time is when the camera produced that frame.
        resid = t - (t0 + marks * tl.period_ms)
        assert np.all(np.abs(resid - np.median(resid)) < 12.0), resid
        stats["frame_time_offset_ms"] = float(np.median(resid))
    return stats


def check_imu(server_clip: Clip, sent: Playback) -> dict[str, float]:
    """IMU as the server parsed it vs the readings the test set: rate, span, values."""
    imu = server_clip.imu
    assert imu is not None and len(imu) > 20
    t = imu[:, 0]
    dt = np.diff(t)
    assert np.all(dt > 0)
    rate = 1000.0 / np.median(dt)
    assert 50.0 < rate < 70.0, rate  # devicemotion at 60 Hz
    # The samples cover the frames.
    ft = server_clip.frame_t_ms
    assert t[0] <= ft[0] + 20 and t[-1] >= ft[-1] - 20, (t[0], t[-1], ft[0], ft[-1])
    # Every received sample is a reading the test set, after rounding to 0.1 (deg/s for the
    # gyroscope, m/s² for the accelerometer) and converting deg/s -> rad/s: this checks the
    # axis mapping (x, y, z -> alpha, beta, gamma -> gx, gy, gz) and the units.
    st, sv = sent.arrays()
    deg = np.round(np.degrees(sv[:, 3:]), 1)
    expect = np.concatenate([np.round(sv[:, :3], 1), np.radians(deg)], axis=1)
    # Gyroscope and accelerometer are set one after the other: match each on its own.
    lags: list[float] = []
    matched = np.zeros(2, int)
    for row in imu:
        # Sent before the sample (give or take the clock offset's error), at most 250 ms before.
        cand = np.flatnonzero((st <= row[0] + CLOCK_TOL_MS) & (st >= row[0] - 250.0))
        for k, cols in enumerate((slice(0, 3), slice(3, 6))):
            err = np.max(np.abs(expect[cand, cols] - row[1:][cols]), axis=1)
            ok = cand[err < 2e-4]
            if ok.size:
                matched[k] += 1
                if k == 1:
                    lags.append(row[0] - st[ok[-1]])
    share = matched / len(imu)
    assert np.all(share >= 0.95), f"acc, gyro: {matched} of {len(imu)} match a played reading"
    return {
        "imu_samples": float(len(imu)),
        "imu_rate_hz": float(rate),
        "imu_matched_acc": float(share[0]),
        "imu_matched_gyro": float(share[1]),
        "imu_lag_ms": float(np.median(lags)),
    }


def verdict(page: Any) -> dict[str, Any]:
    return dict(
        page.evaluate(
            """() => { const r = document.getElementById('result');
              return { live: r.dataset.live, modalities: r.dataset.modalities,
                       followed: r.dataset.followed,
                       text: r.innerText, sensors: document.getElementById('sensors').innerText,
                       motion: document.getElementById('motion').hidden ? null
                         : document.getElementById('motion').innerText,
                       motionStatus: document.getElementById('motion').dataset.status,
                       score: document.getElementById('score').textContent }; }"""
        )
    )


def run_capture(
    page: Any, server: Server, played: Played | None, shot: Path | None = None
) -> tuple[Playback, dict[str, Any]]:
    """Open the page, start a check, play the IMU (when `played`), wait for the verdict.
    Returns what was played and the check response's JSON. `shot`: a screenshot of the
    page while it records (only without IMU playback, which must not be held up)."""
    cdp = None
    if played is not None:
        cdp = page.context.new_cdp_session(page)
        v = imu_at(played.clip.imu, -np.inf)
        enable_sensors(cdp, v[:3], v[3:])  # before goto: before the page listens
    page.goto(server.url + "/")
    with page.expect_response(lambda r: r.url.endswith("/check")) as response:
        page.get_by_role("button", name="Start check").click()
        if cdp is not None:
            sent = play(page, cdp, played)
        else:
            page.wait_for_selector("main[data-state='capturing']")
            if shot is not None:
                page.screenshot(path=str(shot))
            sent = Playback()
        wait_done(page)
    if sent.t0 is None:
        sent.t0 = estimate_t0(page, 1000.0 / FPS)
    return sent, response.value.json()


def check_response(body: dict[str, Any], modalities: list[str]) -> None:
    """The check response has the agreed shape (API v1)."""
    assert isinstance(body["live"], bool)
    assert 0.0 <= body["score"] <= 1.0 and 0.0 < body["threshold"] < 1.0
    assert body["modalities"] == modalities
    ch = body["challenge"]
    assert ch["id"] == CHALLENGE and isinstance(ch["followed"], bool) and ch["detail"]
    assert ch["judged_from"] == ("imu+video" if "imu" in modalities else "video")
    assert isinstance(body["reasons"], list) and (body["reasons"] == []) == body["live"]
    assert {"version", "sha256", "backend"} <= set(body["model"])


def last_received(server: Server, before: int) -> Clip:
    got = server.predictor.received[before:]
    assert len(got) == 1, f"the server scored {len(got)} clips"
    return got[0]


# ----------------------------------------------------------------------------- tests


def test_live_clip_with_sensors_is_accepted(
    page: Any, server: Server, clips: dict[str, Played], camera_file: Path, artifacts: Path
) -> None:
    live = clips["live"]
    direct = live.direct
    assert direct.get("live") is True, f"no candidate passes from its directory: {direct}"
    write_y4m(camera_file, live.timeline.frames, FPS)
    before = len(server.predictor.received)
    sent, body = run_capture(page, server, live)
    page.screenshot(path=str(artifacts / "page_live.png"), full_page=True)
    v = verdict(page)
    clip = last_received(server, before)
    stats = {
        **check_frames(clip, live, sent.t0, server.settings.min_frames),
        **check_imu(clip, sent),
    }
    # How the page timed frames: requestVideoFrameCallback's captureTime (when Chromium gives
    # it for this camera) or the callback time; and how far the two are apart.
    stats["capture_time_share"], stats["capture_to_callback_ms"] = page.evaluate(
        """() => { const f = window.__camFrames;
                   const d = f.map((x) => x[2] - x[0]).sort((a, b) => a - b);
                   return [f.filter((x) => x[0] !== x[2]).length / f.length, d[d.length >> 1]]; }"""
    )
    # The test's timing assumption (LEAD_S): the capture begins within a few frames of the
    # clip's start; if the page's countdown changes, change LEAD_S.
    assert abs(stats["start_vs_clip"]) <= 3, stats
    print(f"\nlive {live.name}: direct {direct['score']:.4f}, page {body['score']:.4f}; {stats}")
    m = body["motion"] or {}
    print(f"motion: {m.get('words')}; gain {m.get('gain')}, wide {m.get('wide_offset_ms')} ms "
          f"(agreement {m.get('wide_r')} there, {m.get('score')} in range); scene misfit "
          f"{m.get('scene_misfit')}")  # fmt: skip
    check_response(body, ["video", "imu"])
    assert v["modalities"] == "video,imu" and "Video and motion sensors" in v["text"]
    assert body["challenge"]["followed"], body["challenge"]
    # The motion agreement, in words and numbers, on the verdict (issue 10 item 5).
    assert m["status"] == "agrees" and v["motionStatus"] == "agrees", m
    assert v["motion"] is not None and m["words"][1:] in v["motion"], (v["motion"], m["words"])
    assert f"r = {m['r']:.2f}" in v["motion"] and f"gain {m['gain']:.2f}" in v["motion"]
    assert f"offset {m['offset_ms']:+.0f} ms" in v["motion"], v["motion"]
    # Frames and sensor readings were played in step (the sensors a few ms late: see
    # test_frame_and_sensor_stamps_share_one_clock): the check finds them so.
    assert abs(m["offset_ms"]) <= 20.0, m
    # Through camera, JPEG and virtual sensors the network's score stays near the clip's own;
    # the fused score also carries the agreement, re-measured on the frames the page captured.
    # (0.05: the camera-augmented network bundled since session 9 moved 0.034 here, the
    # white-balanced one before it less than 0.03: the fake camera's 4:2:0 colour and the
    # page's JPEG touch colour, which that network reads; MODEL_CARD.md.)
    assert abs(body["model_score"] - direct["model_score"]) < 0.05, (body, direct)
    assert abs(body["score"] - direct["score"]) < 0.1, (body["score"], direct["score"])
    assert body["live"] and v["live"] == "true", (
        f"direct score {direct['score']:.4f}, through the page {body['score']:.4f} "
        f"(threshold {body['threshold']}): {body['reasons']}"
    )


def test_without_sensors_the_check_runs_on_video_only(
    page: Any, server: Server, clips: dict[str, Played], camera_file: Path, artifacts: Path
) -> None:
    live = clips["live"]
    write_y4m(camera_file, live.timeline.frames, FPS)
    before = len(server.predictor.received)
    sent, body = run_capture(page, server, None, shot=artifacts / "page_capture.png")
    page.screenshot(path=str(artifacts / "page_video_only.png"), full_page=True)
    v = verdict(page)
    clip = last_received(server, before)
    stats = check_frames(clip, live, sent.t0, server.settings.min_frames)
    print(f"\nvideo only: page {body['score']:.4f} live={body['live']} {body['reasons']}; {stats}")
    assert clip.imu is None  # the page sent no IMU at all
    check_response(body, ["video"])
    assert v["modalities"] == "video"
    assert "video only" in v["sensors"] and "video only" in v["text"]
    assert body["motion"] is None and v["motion"] is None  # no agreement shown


def test_print_attack_is_refused(
    page: Any, server: Server, clips: dict[str, Played], camera_file: Path, artifacts: Path
) -> None:
    attack = clips["attack"]
    assert attack.direct.get("live") is False, attack.direct
    write_y4m(camera_file, attack.timeline.frames, FPS)
    before = len(server.predictor.received)
    sent, body = run_capture(page, server, attack)
    page.screenshot(path=str(artifacts / "page_attack.png"), full_page=True)
    v = verdict(page)
    clip = last_received(server, before)
    stats = {
        **check_frames(clip, attack, sent.t0, server.settings.min_frames),
        **check_imu(clip, sent),
    }
    print(f"\nprint attack: direct {attack.direct['score']:.4f}, page {body['score']:.4f}; {stats}")
    check_response(body, ["video", "imu"])
    assert body["live"] is False and v["live"] == "false"
    assert "Not live" in v["text"] and body["reasons"]


def test_errors_are_readable_keyboard_works_and_retry_starts_a_new_session(
    page: Any, server: Server
) -> None:
    message = "more than 60 requests in 60 s; retry in 7 s"
    page.route(
        "**/api/v1/sessions",
        lambda route: route.fulfill(
            status=429,
            headers={"Retry-After": "7"},
            content_type="application/json",
            body=f'{{"error": {{"code": "rate_limited", "message": "{message}"}}}}',
        ),
    )
    page.goto(server.url + "/")
    # Keyboard only: the first Tab stop is the start button, Enter presses it.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "start"
    page.keyboard.press("Enter")
    err = page.locator("#error")
    err.wait_for(state="visible")
    assert message in err.inner_text() and "Try again in 7 s" in err.inner_text()
    assert "rate_limited" in err.inner_text()
    assert page.locator("#status").get_attribute("aria-live") == "polite"
    # "Try again" asks the server for a new session and shows its challenge.
    page.unroute("**/api/v1/sessions")
    with page.expect_response(lambda r: r.url.endswith("/api/v1/sessions")) as response:
        page.get_by_role("button", name="Try again").click()
    assert response.value.status == 201
    session = response.value.json()
    page.wait_for_selector("main[data-state='countdown']")
    # No sensors in this browser: the words say how to turn the head.
    assert page.inner_text("#challenge-text") == session["challenge"]["text_head"]
    assert page.get_attribute("#arrow", "data-direction") == CHALLENGE
    assert page.locator("#error").is_hidden()


def test_two_step_challenge_moves_the_arrow_during_capture(
    page: Any, predictor: Predictor, clips: dict[str, Played], camera_file: Path, tmp_path: Path
) -> None:
    """With the service's default challenges (two steps, each with its time slot), the arrow
    and words follow the steps while recording; the check still runs (video only here)."""
    write_y4m(camera_file, clips["live"].timeline.frames, FPS)
    is_check = lambda r: r.url.endswith("/check")  # noqa: E731
    with serve(tmp_path, predictor) as srv, page.expect_response(is_check) as check:
        page.goto(srv.url + "/")
        with page.expect_response(lambda r: r.url.endswith("/api/v1/sessions")) as response:
            page.get_by_role("button", name="Start check").click()
        session = response.value.json()
        steps = session["challenge"]["steps"]
        assert len(steps) == 2 and steps[0]["arrow"] != steps[1]["arrow"]
        page.wait_for_selector("main[data-state='countdown']")
        assert page.get_attribute("#arrow", "data-direction") == steps[0]["arrow"]
        page.wait_for_selector("main[data-state='capturing']")
        page.wait_for_selector(f"#arrow[data-direction='{steps[1]['arrow']}']")
        assert state(page) == "capturing"  # switched while recording
        assert page.inner_text("#challenge-text") == steps[1]["text_head"]  # no sensors here
        wait_done(page)
    body = check.value.json()
    assert body["challenge"]["id"] == session["challenge"]["id"]
    assert body["modalities"] == ["video"]


def test_frame_and_sensor_stamps_share_one_clock(
    page: Any, server: Server, clips: dict[str, Played], camera_file: Path
) -> None:
    """How the page stamps frames and motion samples, and how far apart the two are here
    (docs/CLOCK_OFFSET.md): the gyro is stepped at known page times while the page records."""
    write_y4m(camera_file, clips["live"].timeline.frames, FPS)
    page.add_init_script(STAMPS_JS)
    cdp = page.context.new_cdp_session(page)
    acc, rest, turn = np.array([0.0, 9.81, 0.0]), np.zeros(3), np.array([0.5, 0.0, 0.0])
    enable_sensors(cdp, acc, rest)
    page.goto(server.url + "/")
    offset = clock_offset_ms(page)
    before = len(server.predictor.received)
    rng = np.random.default_rng(0)
    steps: list[tuple[float, float, float]] = []  # page time before / after the send, alpha
    with page.expect_response(lambda r: r.url.endswith("/check")):
        page.get_by_role("button", name="Start check").click()
        page.wait_for_selector("main[data-state='capturing']")
        while state(page) == "capturing":
            g = turn if len(steps) % 2 == 0 else rest
            xyz = {"x": float(g[0]), "y": float(g[1]), "z": float(g[2])}
            a = 1000.0 * time.perf_counter() + offset
            cdp.send(
                "Emulation.setSensorOverrideReadings",
                {"type": "gyroscope", "reading": {"xyz": xyz}},
            )
            b = 1000.0 * time.perf_counter() + offset
            steps.append((a, b, round(float(np.degrees(g[0])), 1)))
            time.sleep(0.1 + rng.uniform(0.0, 1.0 / 60.0))  # any phase of the 60 Hz events
        page.wait_for_selector("main[data-state='result'], main[data-state='error']")
    clip = last_received(server, before)
    ev = np.array(page.evaluate("window.__motion"), dtype=float)  # timeStamp, handled, alpha
    cam = np.array(page.evaluate("window.__camFrames"), dtype=float)  # capture, code, now, run
    draws = np.array(page.evaluate("window.__draws"), dtype=float)
    assert clip.imu is not None and len(ev) > 20 and len(cam) > 20 and len(draws) >= 8

    # The page's stamps: each frame's is requestVideoFrameCallback's captureTime, each motion
    # sample's is its event's timeStamp; both on the performance.now() clock (µs rounding).
    ft, it = clip.frame_t_ms, clip.imu[:, 0]
    assert np.all(np.min(np.abs(ft[:, None] - cam[None, :, 0]), 1) < 0.002), "frame stamps"
    assert np.all(np.min(np.abs(it[:, None] - ev[None, :, 0]), 1) < 0.002), "motion stamps"
    assert it[0] <= ft[0] and it[-1] >= ft[-1] - 20.0  # one clock: the samples span the frames

    # Sensor side: a reading set at page time a..b shows in the first later event carrying it.
    lat = []
    for (a, b, alpha), nxt in zip(steps, [*steps[1:], (np.inf,) * 3], strict=True):
        hit = np.flatnonzero(
            (ev[:, 0] > a) & (ev[:, 0] < nxt[0]) & (np.abs(ev[:, 2] - alpha) < 0.05)
        )
        if hit.size:
            lat.append((ev[hit[0], 0] - a, ev[hit[0], 0] - b))
    sensor = np.array(lat)
    handled = ev[:, 1] - ev[:, 0]
    # Frame side: from the capture time to the frame callback and to the page's drawImage.
    kept = cam[np.argmin(np.abs(ft[:, None] - cam[None, :, 0]), 1)]  # the frames sent
    run = kept[:, 3] - kept[:, 0]
    grab = np.array([draws[draws >= c][0] - c for c in kept[:, 0] if np.any(draws >= c)])
    jitter = np.diff(ft) - np.median(np.diff(ft))
    q = lambda x: f"median {np.median(x):.1f}, p90 {np.percentile(x, 90):.1f}, max {np.max(x):.1f}"  # noqa: E731
    print(
        f"\nclock: {len(sensor)} of {len(steps)} gyro steps seen; sensor step -> event.timeStamp "
        f"{q(sensor[:, 0])} ms (after the send returned: {q(sensor[:, 1])}); "
        f"event.timeStamp -> handler {q(handled)} ms; "
        f"frame captureTime -> rVFC callback runs {q(run)} ms; "
        f"-> page drawImage {q(grab)} ms; frame interval jitter ±{np.max(np.abs(jitter)):.1f} ms"
    )
    assert len(sensor) >= 0.8 * len(steps), (len(sensor), len(steps))
    # A reading reaches an event within two 60 Hz periods (plus one CDP send), never before the
    # send returned (within the page-clock estimate's error: a few ms, ~10 ms on a machine
    # loaded 2.5× over its cores, seen once).
    assert np.all(sensor[:, 1] > -15.0) and np.median(sensor[:, 0]) < 40.0, sensor
    assert np.all(handled >= -0.01) and np.all(run >= -0.01) and np.all(grab >= -0.01)
