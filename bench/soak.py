"""Soak test: N concurrent clients against `liveness serve` (gunicorn) on loopback for S seconds.

Usage: python bench/soak.py [--clients 16] [--seconds 60] [--workers 2] [--no-docs]
Starts `liveness serve` (bundled model, rate limit off, a throw-away SQLite store) on a free
port; each client loops session + check with rendered captures (240x320 JPEG frames + IMU, what
the page sends). After --warmup s of that load the worker RSS (VmRSS) baseline is taken, then
the run is measured for --seconds and stops by itself. Reports errors, p50/p99 latency of the
check POST, checks/s, worker RSS over time and its growth, and rewrites the soak section of
docs/HARDENING.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class SoakResult:
    clients: int
    seconds: float
    checks: int = 0
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # check POST, seconds
    rss_start_mb: dict[int, float] = field(default_factory=dict)  # worker pid -> MB
    rss_end_mb: dict[int, float] = field(default_factory=dict)
    exit_code: int | None = None
    samples: list[tuple[float, dict[int, float]]] = field(default_factory=list)  # RSS over time

    def pct(self, q: float) -> float:
        return 1000 * float(np.percentile(self.latencies, q)) if self.latencies else float("nan")

    @property
    def rss_growth_pct(self) -> float:
        """Largest growth of any worker that lived through the run (a restarted one: inf)."""
        if set(self.rss_start_mb) != set(self.rss_end_mb):
            return float("inf")
        return max(100 * (self.rss_end_mb[p] / v - 1) for p, v in self.rss_start_mb.items())

    def table(self) -> str:
        rss = ", ".join(
            f"{self.rss_start_mb[p]:.0f} → {self.rss_end_mb.get(p, float('nan')):.0f}"
            for p in sorted(self.rss_start_mb)
        )
        rows = [
            ("clients × duration", f"{self.clients} × {self.seconds:.0f} s"),
            ("checks completed", f"{self.checks} ({self.checks / self.seconds:.1f} /s)"),
            ("errors (non-200 or exception)", str(len(self.errors))),
            ("check latency p50 / p99 / max, ms",
             f"{self.pct(50):.0f} / {self.pct(99):.0f} / {self.pct(100):.0f}"),
            ("worker RSS after warm-up → end, MB", rss),
            ("worker RSS growth (largest)", f"{self.rss_growth_pct:.2f} %"),
            ("RSS every sample, MB (s: w1, w2…)", "; ".join(
                f"{t:.0f}: " + ", ".join(f"{m[p]:.0f}" for p in sorted(m)) for t, m in self.samples
            )),
            ("workers restarted", str(len(set(self.rss_start_mb) - set(self.rss_end_mb)))),
            ("server exit code on SIGTERM", str(self.exit_code)),
        ]  # fmt: skip
        return "| measure | value |\n|---|---|\n" + "".join(f"| {a} | {b} |\n" for a, b in rows)


def uploads(n: int, width: int, height: int) -> list[tuple[bytes, str]]:
    """n rendered live captures (the challenge "left") as multipart bodies."""
    from liveness.config import SynthConfig
    from liveness.synth.sequence import render_sequence

    out = []
    for s in range(n):
        r = render_sequence(["left"], 500 + s, cfg=SynthConfig(width=width, height=height))
        b = "soak-boundary"
        buf = io.BytesIO()
        for i, f in enumerate(r.frames):
            jpg = io.BytesIO()
            Image.fromarray(f).save(jpg, format="JPEG", quality=85)
            head = (
                f'--{b}\r\nContent-Disposition: form-data; name="frames"; filename="{i}.jpg"'
                "\r\nContent-Type: image/jpeg\r\n\r\n"
            )
            buf.write(head.encode() + jpg.getvalue() + b"\r\n")
        assert r.imu is not None
        for k, v in (("frames_t_ms", r.frame_t_ms.tolist()), ("imu", r.imu.tolist())):
            buf.write(f'--{b}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode())
            buf.write(json.dumps(v).encode() + b"\r\n")
        buf.write(f"--{b}--\r\n".encode())
        out.append((buf.getvalue(), f"multipart/form-data; boundary={b}"))
    return out


def post(url: str, body: bytes, ctype: str) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method="POST")
    req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def one_check(base: str, body: bytes, ctype: str) -> tuple[float, str | None]:
    """(seconds of the check POST, None) or (elapsed, what went wrong)."""
    t0 = time.perf_counter()
    try:
        status, raw = post(base + "/api/v1/sessions", b"{}", "application/json")
        if status != 201:
            return time.perf_counter() - t0, f"session {status}: {raw[:200]!r}"
        sid = json.loads(raw)["session_id"]
        t0 = time.perf_counter()
        status, raw = post(f"{base}/api/v1/sessions/{sid}/check", body, ctype)
        if status != 200:
            return time.perf_counter() - t0, f"check {status}: {raw[:200]!r}"
        return time.perf_counter() - t0, None
    except (OSError, ValueError) as e:
        return time.perf_counter() - t0, f"{type(e).__name__}: {e}"


def worker_rss(master: int) -> dict[int, float]:
    """VmRSS in MB of each gunicorn worker (the master's children but the front)."""
    out = {}
    for task in Path(f"/proc/{master}/task").iterdir():
        for pid in (int(x) for x in (task / "children").read_text().split()):
            if b"liveness.server.front" in Path(f"/proc/{pid}/cmdline").read_bytes():
                continue  # the buffering front, not a gunicorn worker
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    out[pid] = int(line.split()[1]) / 1024
    return out


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_soak(
    clients: int,
    seconds: float,
    workers: int = 2,
    clips: int = 4,
    size: tuple[int, int] = (240, 320),
    warmup: float = 10.0,
    sample_every: float = 10.0,
) -> SoakResult:
    """Serve, load, measure, stop (SIGTERM) and report; never runs longer than asked."""
    bodies = uploads(clips, *size)
    res = SoakResult(clients, seconds)
    with tempfile.TemporaryDirectory(prefix="liveness-soak-") as d:
        proc, base = start_server(d, workers, "--challenges", "left")
        try:
            wait_ready(base, proc)
            for i in range(4 * workers):  # every worker decodes, scores and judges a few
                _, err = one_check(base, *bodies[i % len(bodies)])
                assert err is None, err
            # Concurrent warm-up: every request thread of every worker has held an upload, so
            # the allocators reach their working set before the baseline is taken.
            measuring = threading.Event()
            stop = threading.Event()
            lock = threading.Lock()

            def client(k: int) -> None:
                i = k
                while not stop.is_set():
                    dt, err = one_check(base, *bodies[i % len(bodies)])
                    if measuring.is_set():
                        with lock:
                            res.checks += err is None
                            res.latencies.append(dt)
                    if err is not None:
                        with lock:
                            res.errors.append(err)
                    i += 1

            threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
            for t in threads:
                t.start()
            time.sleep(warmup)
            res.rss_start_mb = worker_rss(proc.pid)
            measuring.set()
            t0 = time.monotonic()
            while (left := seconds - (time.monotonic() - t0)) > 0:
                time.sleep(min(sample_every, left))
                res.samples.append((time.monotonic() - t0, worker_rss(proc.pid)))
            stop.set()
            for t in threads:
                t.join()
            res.rss_end_mb = res.samples[-1][1] if res.samples else worker_rss(proc.pid)
        finally:
            res.exit_code = stop_server(proc)
        if res.exit_code != 0:
            res.errors.append("server log:\n" + (Path(d) / "serve.log").read_text()[-2000:])
    return res


def start_server(d: str, workers: int, *args: str) -> tuple[subprocess.Popen[bytes], str]:
    """`liveness serve` on a free loopback port, rate limit off, sessions and its log in `d`;
    (process, base URL). The caller waits for it (wait_ready) and stops it (stop_server)."""
    port = free_port()
    cmd = [sys.executable, "-m", "liveness.cli", "serve", "--port", str(port),
           "--workers", str(workers), "--rate-limit", "0",
           "--sessions", f"sqlite:///{d}/sessions.sqlite3", *args]  # fmt: skip
    with (Path(d) / "serve.log").open("w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    return proc, f"http://127.0.0.1:{port}"


def stop_server(proc: subprocess.Popen[bytes], timeout: float = 40.0) -> int:
    """SIGTERM (graceful: in-flight checks finish), then SIGKILL after `timeout` s; exit code."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"liveness serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except (OSError, ValueError):
            pass
        time.sleep(0.3)
    raise RuntimeError("liveness serve not ready in time")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--warmup", type=float, default=10.0, help="s of load before the baseline")
    ap.add_argument("--no-docs", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    from fuzz_api import DOC, machine, write_section

    where, started = machine(), datetime.now(UTC)
    res = run_soak(args.clients, args.seconds, args.workers, warmup=args.warmup)
    load_end = os.getloadavg()[0]
    print(res.table())
    for e in res.errors[:10]:
        print("  ", e)
    command = "python bench/soak.py " + " ".join(sys.argv[1:])
    text = (
        f"Run {started:%Y-%m-%d %H:%M} UTC on {where}; load {load_end:.1f} at the end "
        f"(clients and server share the machine). Command: `{command.strip()}`. "
        f"`liveness serve --workers {args.workers}` (gthread, 4 request threads each), "
        "bundled model, rate limit off; each check is a session POST + a check POST of a "
        "rendered 240x320 capture (~30 JPEG frames + IMU); latencies are of the check POST. "
        f"RSS baseline after {args.warmup:g} s of the same load (all clients).\n\n"
        + res.table()
        + "".join(f"\n- {e[:300]}" for e in res.errors[:10])
    )
    if not args.no_docs:
        write_section("soak", text + "\n")
        print(f"wrote {DOC}")
    ok = not res.errors and res.rss_growth_pct < 5.0 and res.exit_code == 0
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
