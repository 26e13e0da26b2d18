"""Slow clients (slowloris) against `liveness serve`: normal clients' latency with and without them.

Usage: python bench/bench_slowloris.py [--slow 200] [--clients 8] [--seconds 20]
       [--kind mixed|headers|body] [--workers 2] [--serve-arg=--flag ...]
Starts `liveness serve` as `make run` does (bundled model, 2 workers; rate limit off and a
throw-away SQLite store so the normal clients measure the service, not the limiter). Phase 1:
--clients normal clients loop session + check (rendered 240x320 captures, what the page sends)
for --seconds. Phase 2: --slow connections from loopback trickle their request one byte a
second (`headers`: an unfinished request head; `body`: a complete head announcing a 100 kB
body; `mixed`: half each; a connection the server closes is opened again at once, as an
attacker would), and after 3 s the same normal load runs for --seconds. Prints a table:
normal clients' checks, errors, p50/p99/max latency of the check POST in each phase.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import selectors
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from soak import one_check, start_server, stop_server, uploads, wait_ready  # noqa: E402


@dataclass
class Phase:
    slow: int
    seconds: float
    latencies: list[float] = field(default_factory=list)  # check POST, seconds
    errors: list[str] = field(default_factory=list)
    reopened: int = 0  # slow connections the server closed (and the attacker reopened)

    def pct(self, q: float) -> float:
        return 1000 * float(np.percentile(self.latencies, q)) if self.latencies else float("nan")


class Slowloris:
    """`n` connections sending their request one byte every `interval` s, from one thread."""

    def __init__(self, port: int, n: int, kind: str, interval: float = 1.0) -> None:
        self.port, self.n, self.kind, self.interval = port, n, kind, interval
        self.stop = threading.Event()
        self.reopened = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _payload(self, i: int) -> bytes:
        body = self.kind == "body" or (self.kind == "mixed" and i % 2 == 1)
        head = (
            f"POST /api/v1/sessions HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            "Content-Type: application/json\r\n"
        )
        if body:
            return (head + "Content-Length: 100000\r\n\r\n").encode() + b" " * 100000
        return (head + "".join(f"X-Slow-{k}: {'a' * 40}\r\n" for k in range(200))).encode()

    def _open(self, i: int) -> tuple[socket.socket, bytes, int]:
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        s.setblocking(False)
        data = self._payload(i)
        if self.kind == "body" or (self.kind == "mixed" and i % 2 == 1):
            cut = data.index(b"\r\n\r\n") + 4  # the head at once, the body a byte a second
            s.send(data[:cut])
            return s, data, cut
        return s, data, 0

    def _run(self) -> None:
        sel = selectors.DefaultSelector()
        conns: dict[int, tuple[socket.socket, bytes, int]] = {}
        for i in range(self.n):
            conns[i] = self._open(i)
            sel.register(conns[i][0], selectors.EVENT_READ, i)
        while not self.stop.is_set():
            t0 = time.monotonic()
            for i, (s, data, pos) in list(conns.items()):
                try:
                    s.send(data[pos : pos + 1])
                    conns[i] = (s, data, pos + 1)
                except OSError:
                    self._reopen(sel, conns, i)
            for key, _ in sel.select(timeout=0):  # the server answered (408, 400) or closed
                self._reopen(sel, conns, key.data)  # an answer or EOF ends it: start again
            self.stop.wait(max(0.0, self.interval - (time.monotonic() - t0)))
        for s, _, _ in conns.values():
            s.close()

    def _reopen(
        self,
        sel: selectors.BaseSelector,
        conns: dict[int, tuple[socket.socket, bytes, int]],
        i: int,
    ) -> None:
        s = conns[i][0]
        with contextlib.suppress(KeyError, ValueError):
            sel.unregister(s)
        s.close()
        self.reopened += 1
        try:
            conns[i] = self._open(i)
            sel.register(conns[i][0], selectors.EVENT_READ, i)
        except OSError:
            time.sleep(0.01)
            conns[i] = self._open(i)
            sel.register(conns[i][0], selectors.EVENT_READ, i)


def normal_load(
    base: str, bodies: list[tuple[bytes, str]], clients: int, seconds: float, ph: Phase
) -> None:
    stop = threading.Event()
    lock = threading.Lock()

    def client(k: int) -> None:
        i = k
        while not stop.is_set():
            dt, err = one_check(base, *bodies[i % len(bodies)])
            with lock:
                ph.latencies.append(dt)
                if err is not None:
                    ph.errors.append(err)
            i += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()


def run(
    slow: int, clients: int, seconds: float, kind: str, workers: int, serve_args: list[str]
) -> list[Phase]:
    bodies = uploads(4, 240, 320)
    phases = [Phase(0, seconds), Phase(slow, seconds)]
    with tempfile.TemporaryDirectory(prefix="liveness-slowloris-") as d:
        proc, base = start_server(d, workers, "--challenges", "left", *serve_args)
        port = int(base.rsplit(":", 1)[1])
        try:
            wait_ready(base, proc)
            for i in range(4 * workers):  # warm every worker
                one_check(base, *bodies[i % len(bodies)])
            normal_load(base, bodies, clients, seconds, phases[0])
            attack = Slowloris(port, slow, kind)
            attack.thread.start()
            time.sleep(3.0)
            normal_load(base, bodies, clients, seconds, phases[1])
            attack.stop.set()
            attack.thread.join(timeout=10)
            phases[1].reopened = attack.reopened
        finally:
            stop_server(proc)
    return phases


def table(phases: list[Phase], clients: int) -> str:
    rows = [
        "| slow connections | normal clients | checks | errors | p50 ms | p99 ms | max ms "
        "| slow connections closed by the server |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for ph in phases:
        ok = len(ph.latencies) - len(ph.errors)
        rows.append(
            f"| {ph.slow} | {clients} | {ok} | {len(ph.errors)} | {ph.pct(50):.0f} | "
            f"{ph.pct(99):.0f} | {ph.pct(100):.0f} | {ph.reopened} |"
        )
    return "\n".join(rows) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--slow", type=int, default=200)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=20.0, help="per phase")
    ap.add_argument("--kind", choices=("mixed", "headers", "body"), default="mixed")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--serve-arg", action="append", default=[], help="extra serve option")
    args = ap.parse_args()
    from fuzz_api import machine

    where, started = machine(), datetime.now(UTC)
    phases = run(args.slow, args.clients, args.seconds, args.kind, args.workers, args.serve_arg)
    command = "python bench/bench_slowloris.py " + " ".join(sys.argv[1:])
    print(f"Run {started:%Y-%m-%d %H:%M} UTC on {where}; load {os.getloadavg()[0]:.1f} at the "
          f"end. Command: `{command.strip()}`.\n")  # fmt: skip
    print(table(phases, args.clients))
    for ph in phases:
        for e in ph.errors[:5]:
            print(f"  ({ph.slow} slow) {e[:300]}")
    base, attacked = phases
    ok = not attacked.errors and attacked.pct(99) <= 2 * base.pct(99)
    print("target (0 errors, p99 <= 2x without):", "met" if ok else "NOT met")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
