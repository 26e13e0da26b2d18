"""Buffering front (asyncio): reads whole requests under deadlines, then hands them to gunicorn.

Slow clients cost this event loop a socket and a buffer, never a gunicorn thread: a request
reaches the workers (over a private Unix socket, one request per connection) only once its
head and body are complete. It also answers malformed HTTP, over-limit bodies (chunked
included) and timeouts with the API's JSON errors, terminates TLS and adds HSTS under TLS.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
from dataclasses import dataclass

from liveness.server.http1 import (
    HOP_BY_HOP,
    Head,
    HttpError,
    error_response,
    parse_chunk_size,
    parse_head,
    reframe,
)

log = logging.getLogger("liveness.server.front")
HSTS = ("Strict-Transport-Security", "max-age=31536000")


@dataclass(frozen=True)
class FrontConfig:
    backend: str  # gunicorn's Unix socket
    max_body: int  # bytes; more is 413 before it is read (chunked: as soon as it is exceeded)
    head_timeout_s: float = 10.0  # the whole request head must arrive within this
    keepalive_s: float = 5.0  # an idle kept-alive connection is closed after this
    body_grace_s: float = 10.0  # then the body must average at least body_min_rate
    body_min_rate: float = 32 * 1024.0  # bytes/s
    backend_timeout_s: float = 90.0  # above gunicorn's worker timeout
    write_timeout_s: float = 30.0  # a client that does not read its response is dropped
    max_connections: int = 2048  # open client connections; more get 503 at once
    max_per_client: int = 256  # open connections from one address; more get 503 at once
    max_buffered: int = 256 * 1024 * 1024  # request bodies held at once; more get 503
    max_head_bytes: int = 32 * 1024
    max_line: int = 4094
    max_fields: int = 100
    max_response: int = 64 * 1024 * 1024
    tls_cert: str | None = None
    tls_key: str | None = None
    graceful_timeout_s: float = 20.0


class _Slow(Exception):
    pass


class Front:
    def __init__(self, cfg: FrontConfig) -> None:
        self.cfg = cfg
        self.scheme = b"https" if cfg.tls_cert else b"http"
        self.connections = 0
        self.per_client: dict[str, int] = {}
        self.buffered = 0  # body bytes held by requests being read or forwarded
        self.idle: set[asyncio.Task[None]] = set()  # waiting for a request head: cancellable
        self.stopping = False

    async def client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        ip = peer[0] if isinstance(peer, tuple) else "unknown"
        self.connections += 1
        self.per_client[ip] = self.per_client.get(ip, 0) + 1
        try:
            if (
                self.connections > self.cfg.max_connections
                or self.per_client[ip] > self.cfg.max_per_client
            ):
                writer.write(error_response(503, "too many connections; retry shortly"))
                return
            first = True
            while not self.stopping:
                keep = await self._one(reader, writer, ip, first)
                first = False
                if not keep:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError):
            pass
        finally:
            self.connections -= 1
            self.per_client[ip] -= 1
            if not self.per_client[ip]:
                del self.per_client[ip]
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.drain(), 1.0)
            writer.close()

    async def _one(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, ip: str, first: bool
    ) -> bool:
        """Serve one request; True to keep the connection for the next one."""
        task = asyncio.current_task()
        assert task is not None
        wait = self.cfg.head_timeout_s if first else self.cfg.keepalive_s
        deadline = time.monotonic() + wait
        self.idle.add(task)
        try:
            got = await asyncio.wait_for(reader.read(1), wait)
        except TimeoutError:
            return False  # nothing sent: close quietly
        finally:
            self.idle.discard(task)
        if not got:
            return False
        if not first:  # a kept-alive connection: the head's time starts with its first byte
            deadline = time.monotonic() + self.cfg.head_timeout_s
        held = [0]  # body bytes this request holds, counted in self.buffered
        try:
            return await self._request(reader, writer, ip, got, deadline, held)
        finally:
            self.buffered -= held[0]

    async def _request(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        ip: str,
        got: bytes,
        deadline: float,
        held: list[int],
    ) -> bool:
        try:
            try:
                rest = await asyncio.wait_for(
                    reader.readuntil(b"\r\n\r\n"), max(deadline - time.monotonic(), 0.001)
                )
            except TimeoutError:
                raise HttpError(408, "request head not received in time") from None
            except asyncio.LimitOverrunError:
                raise HttpError(431, "request head too large") from None
            except asyncio.IncompleteReadError:
                return False
            head = parse_head(got + rest, self.cfg.max_line, self.cfg.max_fields)
            if any(len(k) + len(v) + 2 > 8190 for k, v in head.headers):
                raise HttpError(431, "a header field is longer than 8190 bytes")
            body = await self._body(reader, writer, head, held)
        except HttpError as e:
            await self._send(writer, error_response(e.status, e.message, e.code, self._extra()))
            await self._linger(reader, writer)
            return False
        response, keep = await self._forward(head, body, ip)
        await self._send(writer, response)
        return keep and head.keep_alive and not self.stopping

    async def _linger(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """After an early answer, read what the client still sends for a moment, so that
        closing does not reset the connection before it has read the answer."""
        if writer.can_write_eof():
            writer.write_eof()
        end = time.monotonic() + 2.0
        with contextlib.suppress(TimeoutError, OSError, ConnectionError):
            while (left := end - time.monotonic()) > 0:
                if not await asyncio.wait_for(reader.read(65536), left):
                    break

    def _extra(self) -> tuple[tuple[str, str], ...]:
        return (HSTS,) if self.cfg.tls_cert else ()

    async def _send(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        try:
            await asyncio.wait_for(writer.drain(), self.cfg.write_timeout_s)
        except TimeoutError:
            raise ConnectionError("client does not read its response") from None

    async def _body(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        head: Head,
        held: list[int],
    ) -> bytes:
        cfg = self.cfg
        if head.content_length is not None and head.content_length > cfg.max_body:
            raise HttpError(413, f"request body too large (limit {cfg.max_body} bytes)")
        if head.expect_continue and (head.chunked or head.content_length):
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        start, got = time.monotonic(), 0
        parts: list[bytes] = []

        async def read(coro_n: int, exact: bool = True) -> bytes:
            nonlocal got
            out = bytearray()
            while len(out) < coro_n:
                left = start + cfg.body_grace_s + got / cfg.body_min_rate - time.monotonic()
                if left <= 0:
                    raise HttpError(408, "request body arrives too slowly")
                try:
                    piece = await asyncio.wait_for(reader.read(min(65536, coro_n - len(out))), left)
                except TimeoutError:
                    raise HttpError(408, "request body arrives too slowly") from None
                if not piece:
                    raise asyncio.IncompleteReadError(bytes(out), coro_n)
                if self.buffered + len(piece) > cfg.max_buffered:
                    raise HttpError(503, "the server is busy; retry shortly")
                self.buffered += len(piece)
                held[0] += len(piece)
                out += piece
                got += len(piece)
            return bytes(out)

        async def line() -> bytes:
            left = start + cfg.body_grace_s + got / cfg.body_min_rate - time.monotonic()
            try:
                return await asyncio.wait_for(reader.readuntil(b"\r\n"), max(left, 0.001))
            except TimeoutError:
                raise HttpError(408, "request body arrives too slowly") from None
            except asyncio.LimitOverrunError:
                raise HttpError(400, "malformed chunked body") from None

        if head.content_length:
            return await read(head.content_length)
        if not head.chunked:
            return b""
        total = 0
        while True:
            size = parse_chunk_size((await line())[:-2])
            if size == 0:
                for _ in range(self.cfg.max_fields):  # trailers are read and dropped
                    if await line() == b"\r\n":
                        return b"".join(parts)
                raise HttpError(431, "too many trailer fields")
            total += size
            if total > cfg.max_body:
                raise HttpError(413, f"request body too large (limit {cfg.max_body} bytes)")
            parts.append(await read(size))
            if await read(2) != b"\r\n":
                raise HttpError(400, "malformed chunked body (no CRLF after a chunk)")

    async def _forward(self, head: Head, body: bytes, ip: str) -> tuple[bytes, bool]:
        lines = [head.method + b" " + head.target + b" HTTP/1.1"]
        xff, proto = ip.encode(), self.scheme
        for k, v in head.headers:
            if k == b"x-forwarded-for":
                xff = v + b", " + xff
            elif k == b"x-forwarded-proto":
                proto = v + b", " + proto
            elif k not in HOP_BY_HOP:
                lines.append(k + b": " + v)
        lines += [
            b"X-Forwarded-For: " + xff,
            b"X-Forwarded-Proto: " + proto,
            b"Content-Length: " + str(len(body)).encode(),
            b"Connection: close",
        ]
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await asyncio.wait_for(loop.sock_connect(sock, self.cfg.backend), 5.0)
        except (OSError, TimeoutError):
            sock.close()
            return self._err(503, "the service is starting or restarting; retry shortly"), False
        # Sent and read at once: the app may answer (410, 413…) before reading the body and
        # close; what it wrote stays readable on a Unix socket even when our write fails.
        data = b"\r\n".join(lines) + b"\r\n\r\n" + body
        sending = asyncio.create_task(loop.sock_sendall(sock, data))
        try:
            raw = await asyncio.wait_for(self._read_all(sock), self.cfg.backend_timeout_s)
        except TimeoutError:
            return self._err(504, "the service did not answer in time"), False
        except (OSError, ValueError):
            return self._err(502, "the service closed the connection"), False
        finally:
            sending.cancel()
            with contextlib.suppress(BaseException):
                await sending
            sock.close()
        try:
            return reframe(raw, head.method == b"HEAD", self._extra()), True
        except (ValueError, HttpError):
            return self._err(502, "malformed answer from the service"), False

    async def _read_all(self, sock: socket.socket) -> bytes:
        out = bytearray()
        loop = asyncio.get_running_loop()
        while True:
            try:
                piece = await loop.sock_recv(sock, 65536)
            except ConnectionResetError:
                if out:  # the app answered without reading the whole body, then closed
                    break
                raise
            if not piece:
                break
            out += piece
            if len(out) > self.cfg.max_response:
                raise ValueError("response too large")
        return bytes(out)

    def _err(self, status: int, message: str) -> bytes:
        return error_response(status, message, extra=self._extra())
