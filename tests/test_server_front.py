"""The buffering front in-process against a fake backend: deadlines, framing, forwarding, TLS."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from liveness.server.front import Front, FrontConfig
from liveness.server.front_main import tls_context


class Harness:
    """A Front on a loopback port; its backend echoes the request it got as JSON."""

    def __init__(
        self, cfg: FrontConfig, ctx: ssl.SSLContext | None = None, backend: bool = True
    ) -> None:
        self.loop = asyncio.new_event_loop()
        self.seen: list[bytes] = []
        self.cfg, self.ctx, self.with_backend = cfg, ctx, backend
        started = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self.thread.start()
        started.wait(10)

    async def _backend(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        head = await r.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        body = await r.readexactly(length)
        self.seen.append(head + body)
        out = json.dumps({"body": body.decode("latin-1")}).encode()
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
        w.write(head + b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(out), out))
        await w.drain()
        w.close()

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            if self.with_backend:
                await asyncio.start_unix_server(self._backend, self.cfg.backend)
            server = await asyncio.start_server(
                Front(self.cfg).client, "127.0.0.1", 0, ssl=self.ctx, limit=4096
            )
            self.port = server.sockets[0].getsockname()[1]
            started.set()
            await asyncio.Event().wait()

        self.loop.run_until_complete(main())

    def request(self, data: bytes, pause: float = 0.0, wrap: ssl.SSLContext | None = None) -> bytes:
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        if wrap is not None:
            s = wrap.wrap_socket(s, server_hostname="localhost")
        with s:
            for i, b in enumerate(data if pause else [data]):
                s.sendall(bytes([b]) if pause else b)  # type: ignore[arg-type]
                if pause and i < len(data) - 1:
                    time.sleep(pause)
            out = b""
            while chunk := s.recv(65536):
                out += chunk
        return out


@pytest.fixture
def front(tmp_path: Path) -> Iterator[Harness]:
    cfg = FrontConfig(backend=str(tmp_path / "b.sock"), max_body=1000, head_timeout_s=0.6,
                      body_grace_s=0.6, body_min_rate=1000.0, keepalive_s=0.5)  # fmt: skip
    yield Harness(cfg)


def _status_and_json(raw: bytes) -> tuple[int, dict]:  # type: ignore[type-arg]
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)


def test_forwards_whole_requests_with_the_client_address(front: Harness) -> None:
    raw = front.request(
        b"POST /x HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Ssl: on\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    )
    status, body = _status_and_json(raw)
    assert status == 200 and body == {"body": "abcde"}
    assert b"Content-Length: " in raw and b"Transfer-Encoding" not in raw  # re-framed
    (seen,) = front.seen
    assert b"X-Forwarded-For: 6.6.6.6, 127.0.0.1\r\n" in seen  # the app trusts the last hop
    assert b"x-forwarded-ssl" not in seen.lower() and b"Content-Length: 5\r\n" in seen


def test_keep_alive_serves_requests_in_turn(front: Harness) -> None:
    one = b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
    raw = front.request(one + one.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
    assert raw.count(b"HTTP/1.1 200 OK") == 2 and len(front.seen) == 2


def test_slow_head_and_slow_body_get_408(front: Harness) -> None:
    t0 = time.monotonic()
    status, body = _status_and_json(front.request(b"GET / HTTP/1.1\r\nHost: aaaa", pause=0.1))
    assert status == 408 and body["error"]["code"] == "request_timeout"
    assert time.monotonic() - t0 < 3
    slow_body = b"POST / HTTP/1.1\r\nContent-Length: 900\r\n\r\n"
    s = socket.create_connection(("127.0.0.1", front.port), timeout=10)
    s.sendall(slow_body + b"x" * 10)
    raw = s.recv(65536)
    s.close()
    assert _status_and_json(raw)[0] == 408 and front.seen == []


def test_limits_are_json_errors_before_the_backend(front: Harness) -> None:
    cases = {
        b"POST / HTTP/1.1\r\nContent-Length: 1001\r\n\r\n": 413,
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n" + b"a" * 1001: 413,
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n": 400,
        b"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n": 400,
        b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n": 400,
        b"GET / HTTP/1.1\r\nExpect: magic\r\n\r\n": 417,
        b"GET http://evil/ HTTP/1.1\r\n\r\n": 400,
        b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n": 400,
        b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n": 400,
        b"GET / HTTP/1.1\r\nX: " + b"a" * 5000 + b"\r\n\r\n": 431,  # over the 4 KiB head here
    }
    for data, want in cases.items():
        status, body = _status_and_json(front.request(data))
        assert status == want, (data[:50], body)
    assert front.seen == []


def test_backend_down_is_503(tmp_path: Path) -> None:
    h = Harness(FrontConfig(backend=str(tmp_path / "none.sock"), max_body=10), backend=False)
    status, body = _status_and_json(h.request(b"GET / HTTP/1.1\r\n\r\n"))
    assert status == 503 and body["error"]["code"] == "unavailable"


def test_hsts_under_tls(tmp_path: Path) -> None:
    from liveness.server.serve import self_signed_cert

    cert, key = self_signed_cert(tmp_path / "tls")
    cfg = FrontConfig(backend=str(tmp_path / "b.sock"), max_body=100, tls_cert=str(cert),
                      tls_key=str(key))  # fmt: skip
    h = Harness(cfg, tls_context(str(cert), str(key)))
    client = ssl.create_default_context(cafile=str(cert))
    raw = h.request(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", wrap=client)
    assert raw.startswith(b"HTTP/1.1 200") and b"Strict-Transport-Security: max-age=" in raw
    assert b"X-Forwarded-Proto: https\r\n" in h.seen[0]
    plain = Harness(replace(cfg, tls_cert=None, tls_key=None, backend=str(tmp_path / "c.sock")))
    assert b"Strict-Transport-Security" not in plain.request(
        b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n"
    )


def test_connection_and_buffer_caps(tmp_path: Path) -> None:
    cfg = FrontConfig(backend=str(tmp_path / "b.sock"), max_body=10_000, max_per_client=2,
                      max_buffered=5_000, head_timeout_s=2.0)  # fmt: skip
    h = Harness(cfg)
    held = [socket.create_connection(("127.0.0.1", h.port)) for _ in range(2)]
    for s in held:
        s.sendall(b"GET / HTTP/1.1\r\n")  # two slow heads from this address
    time.sleep(0.2)
    status, body = _status_and_json(h.request(b"GET / HTTP/1.1\r\n\r\n"))
    assert status == 503 and body["error"]["code"] == "unavailable"
    for s in held:
        s.close()
    time.sleep(0.2)
    raw = h.request(b"POST / HTTP/1.1\r\nContent-Length: 6000\r\n\r\n" + b"x" * 6000)
    assert _status_and_json(raw)[0] == 503  # more body bytes than the front may hold at once
    raw = h.request(
        b"POST / HTTP/1.1\r\nConnection: close\r\nContent-Length: 4000\r\n\r\n" + b"x" * 4000
    )
    assert raw.startswith(b"HTTP/1.1 200")  # the count went back to 0
