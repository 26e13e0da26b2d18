"""End-to-end check latency over HTTP vs the model alone, throughput, RSS per worker.

Usage: python bench/bench_server.py [--clips 6] [--requests 40] [--seconds 15] [--workers 2]
    [--challenge left] [--no-overlap]
Starts `liveness serve --workers N` on a free loopback port (rate limit off, the one challenge
drawn), sends rendered 320x240 captures that follow it (what the page sends) and prints a
markdown report (latest: docs/PERFORMANCE.md).
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image

from liveness.clip import Clip
from liveness.config import SynthConfig
from liveness.predict import load_predictor
from liveness.preprocess import preprocess_clip
from liveness.server.payload import decode_into
from liveness.synth.sequence import render_sequence


def jpeg(frame: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def form(frames: list[bytes], clip: Clip) -> tuple[bytes, str]:
    b = "bench-boundary"
    out = io.BytesIO()
    for i, data in enumerate(frames):
        out.write(f'--{b}\r\nContent-Disposition: form-data; name="frames"; filename="{i}.jpg"'
                  "\r\nContent-Type: image/jpeg\r\n\r\n".encode() + data + b"\r\n")  # fmt: skip
    fields = {"frames_t_ms": json.dumps(clip.frame_t_ms.tolist())}
    if clip.imu is not None:
        fields["imu"] = json.dumps(clip.imu.tolist())
    for k, v in fields.items():
        out.write(f'--{b}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
    out.write(f"--{b}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={b}"


def post(url: str, body: bytes, ctype: str) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method="POST")
    req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def one_check(
    base: str, body: bytes, ctype: str, handler: list[dict[str, float]] | None = None
) -> float:
    """Seconds of the check POST; the server's own timing of its steps (timing_ms) goes to
    `handler` when given."""
    status, raw = post(base + "/api/v1/sessions", b"{}", "application/json")
    assert status == 201, raw
    sid = json.loads(raw)["session_id"]
    t0 = time.perf_counter()
    status, raw = post(f"{base}/api/v1/sessions/{sid}/check", body, ctype)
    dt = time.perf_counter() - t0
    assert status == 200, raw
    if handler is not None:
        handler.append(json.loads(raw)["timing_ms"])
    return dt


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(x) for x in (task / "children").read_text().split()]
    return out


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.array(xs), q))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clips", type=int, default=6)
    ap.add_argument("--requests", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--model", default=None)
    ap.add_argument("--challenge", default="left", help="the one challenge drawn (e.g. left-up)")
    ap.add_argument("--out", default=None, help="also write the report (markdown) here")
    ap.add_argument("--no-overlap", action="store_true", help="serve with --no-overlap")
    args = ap.parse_args()
    cfg = SynthConfig(width=240, height=320)
    clips, uploads, encoded = [], [], []
    for s in range(args.clips):
        r = render_sequence(args.challenge.split("-"), 500 + s, cfg=cfg)
        enc = [jpeg(f) for f in r.frames]
        dec = np.stack([np.asarray(Image.open(io.BytesIO(d)).convert("RGB")) for d in enc])
        clip = Clip(dec, r.frame_t_ms, r.imu)
        clips.append(clip)
        uploads.append(form(enc, clip))
        encoded.append(enc)
    kb = statistics.mean(len(b) for b, _ in uploads) / 1024
    # The same work done directly, as each worker does it (frames decoded by two threads and the
    # motion check run on a side thread: ServerSettings.overlap): decode every JPEG frame, then
    # the decision path (face check, preprocess, network, motion agreement); and the network
    # alone.
    pred = load_predictor(args.model, threads=1)
    pred.overlap = not args.no_overlap
    model_t, net_t = [], []

    def model_path(enc: list[bytes], c: Clip) -> tuple[float, float]:
        """(decode + decision path, network alone) in seconds."""
        t0 = time.perf_counter()
        frames = np.zeros((len(enc), *c.frames.shape[1:]), np.uint8)
        decode_into(frames, [(e, "JPEG", "RGB") for e in enc], range(len(enc)), pred.overlap)
        clip = Clip(frames, c.frame_t_ms, c.imu)
        pred.assess(clip)
        t1 = time.perf_counter()
        item = preprocess_clip(clip, pred.config.preprocess)
        t2 = time.perf_counter()
        pred.predict_inputs([item])
        return t1 - t0, time.perf_counter() - t2

    for i in range(args.requests):
        total, net = model_path(encoded[i % len(clips)], clips[i % len(clips)])
        model_t.append(total)
        net_t.append(net)
    port = _free_port()
    db = Path(tempfile.mkdtemp()) / "sessions.sqlite3"
    cmd = [sys.executable, "-m", "liveness.cli", "serve", "--port", str(port),
           "--workers", str(args.workers), "--rate-limit", "0", "--challenges", args.challenge,
           "--sessions", f"sqlite:///{db}"]  # fmt: skip
    cmd += ["--model", args.model] if args.model else []
    cmd += ["--no-overlap"] if args.no_overlap else []
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base)
        for i in range(4):  # warm both workers
            one_check(base, *uploads[i % len(uploads)])
        handler_t: list[dict[str, float]] = []
        http_t = [
            one_check(base, *uploads[i % len(uploads)], handler=handler_t)
            for i in range(args.requests)
        ]
        done: list[float] = []
        stop = time.monotonic() + args.seconds

        def client(k: int) -> None:
            i = k
            while time.monotonic() < stop:
                done.append(one_check(base, *uploads[i % len(uploads)]))
                i += 1

        t0 = time.monotonic()
        threads = [threading.Thread(target=client, args=(k,)) for k in range(args.concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rate = len(done) / (time.monotonic() - t0)
        rss = [rss_mb(p) for p in children(proc.pid)]
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    m50, m95 = 1000 * pct(model_t, 50), 1000 * pct(model_t, 95)
    h50, h95 = 1000 * pct(http_t, 50), 1000 * pct(http_t, 95)
    handler_total = [h["total"] for h in handler_t]
    steps = ", ".join(f"{k} {pct([h[k] for h in handler_t], 50):.1f}"
                      for k in handler_t[0] if k != "total")  # fmt: skip
    rows = [
        ("network alone, p50 / p95 ms",
         f"{1000 * pct(net_t, 50):.1f} / {1000 * pct(net_t, 95):.1f}", ""),
        ("decision path (decode all frames + face + preprocess + net + motion), p50 / p95 ms",
         f"{m50:.1f} / {m95:.1f}", ""),
        ("check over HTTP, p50 / p95 ms", f"{h50:.1f} / {h95:.1f}", ""),
        ("  of which the server's handler (its timing_ms.total), p50 / p95 ms",
         f"{pct(handler_total, 50):.1f} / {pct(handler_total, 95):.1f}", ""),
        ("  its steps (timing_ms), p50 ms", steps, ""),
        ("HTTP overhead at p50 (% of model time)", f"{100 * (h50 - m50) / m50:.0f} %", "≤ 25 %"),
        (f"checks/s, {args.concurrency} clients, {args.workers} workers", f"{rate:.1f}", "≥ 40"),
        ("RSS per worker, MB", ", ".join(f"{x:.0f}" for x in rss), "≤ 300"),
        ("concurrent check latency p50 / p95 ms",
         f"{1000 * pct(done, 50):.0f} / {1000 * pct(done, 95):.0f}", ""),
    ]  # fmt: skip
    table = "| measure | value | target |\n|---|---|---|\n" + "".join(
        f"| {a} | {b} | {c} |\n" for a, b, c in rows
    )
    print(table)
    command = "python bench/bench_server.py " + " ".join(sys.argv[1:])
    text = (
        "# Server performance\n\n"
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({platform.processor() or platform.machine()}, {_cpus()} CPUs), "
        f"Python {platform.python_version()}, model `{Path(pred.source).name}` "
        f"({type(pred.backend).__name__}).\n\n"
        f"Command: `{command.strip()}`\n\n"
        f"Uploads: {args.clips} rendered 240x320 captures of the challenge `{args.challenge}`, "
        f"~{len(clips[0].frame_t_ms)} JPEG frames + IMU each, {kb:.0f} KiB per check on average. "
        "One check = session POST + check POST; latencies are of the check POST only, client "
        "and server on one machine (they compete for the same cores).\n\n" + table
    )
    if args.out:
        Path(args.out).write_text(text)
        print(f"wrote {args.out}")


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(base: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("server not ready")


if __name__ == "__main__":
    main()
