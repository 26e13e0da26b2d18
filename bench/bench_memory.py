"""Worker memory under the worst valid upload at full concurrency (issue 12, item 7).

Usage: python bench/bench_memory.py [--clients 8] [--seconds 30] [--workers 2] [--frames 64]
       [--serve-arg=--flag ...]
Starts `liveness serve` as `make run` does (2 workers; rate limit off, a throw-away SQLite
store). The upload: --frames PNG frames of 640x640 (the pixel limit) without IMU, so every
frame is decoded, made as large as the 8 MiB body limit allows. --clients clients post it at
once, again and again, for --seconds. Prints each worker's RSS before, its peak (VmHWM) and
the answers' status codes.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from soak import post, start_server, stop_server, wait_ready  # noqa: E402

LIMIT = 8 * 1024 * 1024


def worst_upload(frames: int, side: int = 640) -> tuple[bytes, str]:
    """`frames` PNG frames of side x side, each as large as the body limit allows."""
    rng = np.random.default_rng(0)
    per_frame = (LIMIT - 64 * 1024) // frames
    yy, xx = np.mgrid[0:side, 0:side]
    b = "mem-boundary"
    out = io.BytesIO()
    rows = side  # rows of the frame that get noise: as many as still fit the body limit
    for i in range(frames):
        base = np.stack([(xx + 3 * i) % 256, (yy + 2 * i) % 256, (xx + yy) % 256], -1)
        while True:
            noisy = base.copy()
            noisy[:rows] += rng.integers(0, 8, (rows, side, 3))
            buf = io.BytesIO()
            Image.fromarray(noisy.clip(0, 255).astype(np.uint8)).save(buf, format="PNG")
            if buf.tell() <= per_frame or rows == 0:
                png = buf.getvalue()
                break
            rows = int(rows * 0.9 * per_frame / buf.tell())
        out.write(
            f'--{b}\r\nContent-Disposition: form-data; name="frames"; filename="{i}.png"\r\n'
            "Content-Type: image/png\r\n\r\n".encode()
            + png
            + b"\r\n"
        )
    t = json.dumps([round(i * 1000 / 15, 3) for i in range(frames)])
    out.write(
        f'--{b}\r\nContent-Disposition: form-data; name="frames_t_ms"\r\n\r\n{t}\r\n'.encode()
    )
    out.write(f"--{b}--\r\n".encode())
    body = out.getvalue()
    assert len(body) <= LIMIT, len(body)
    return body, f"multipart/form-data; boundary={b}"


def status_mb(pid: int) -> dict[str, float]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key = line.split(":")[0]
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(line.split()[1]) / 1024
    return out


def workers(master: int) -> list[int]:
    pids = []
    for task in Path(f"/proc/{master}/task").iterdir():
        for pid in (int(x) for x in (task / "children").read_text().split()):
            if b"liveness.server.front" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                pids.append(pid)
    return sorted(pids)


def run(clients: int, seconds: float, n_workers: int, frames: int, extra: list[str]) -> str:
    body, ctype = worst_upload(frames)
    codes: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(prefix="liveness-mem-") as d:
        proc, base = start_server(d, n_workers, *extra)
        try:
            wait_ready(base, proc)
            pids = workers(proc.pid)
            before = {p: status_mb(p)["VmRSS"] for p in pids}
            stop = threading.Event()
            lock = threading.Lock()

            def client() -> None:
                while not stop.is_set():
                    try:
                        st, raw = post(base + "/api/v1/sessions", b"{}", "application/json")
                        sid = json.loads(raw)["session_id"]
                        st, raw = post(f"{base}/api/v1/sessions/{sid}/check", body, ctype)
                        code = str(st)
                    except (OSError, ValueError) as e:
                        code = type(e).__name__
                    with lock:
                        codes[code] += 1

            threads = [threading.Thread(target=client) for _ in range(clients)]
            for t in threads:
                t.start()
            time.sleep(seconds)
            stop.set()
            for t in threads:
                t.join()
            after = {p: status_mb(p) for p in workers(proc.pid)}
        finally:
            stop_server(proc)
    rows = [
        f"| {p} | {before.get(p, float('nan')):.0f} | {a['VmHWM']:.0f} | {a['VmRSS']:.0f} |"
        for p, a in after.items()
    ]
    return (
        f"Upload: {frames} PNG frames 640x640, no IMU, {len(body) / 2**20:.2f} MiB; "
        f"{clients} clients × {seconds:g} s; answers: {dict(codes)}; "
        f"workers restarted: {len(set(after) - set(before))}.\n\n"
        "| worker | RSS before, MB | peak RSS (VmHWM), MB | RSS at the end, MB |\n"
        "|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--serve-arg", action="append", default=[], help="extra serve option")
    args = ap.parse_args()
    from fuzz_api import machine

    where, started = machine(), datetime.now(UTC)
    text = run(args.clients, args.seconds, args.workers, args.frames, args.serve_arg)
    command = "python bench/bench_memory.py " + " ".join(sys.argv[1:])
    print(f"Run {started:%Y-%m-%d %H:%M} UTC on {where}; load {os.getloadavg()[0]:.1f} at the "
          f"end. Command: `{command.strip()}`.\n")  # fmt: skip
    print(text)


if __name__ == "__main__":
    main()
