"""The front's process: `python -m liveness.server.front_main --fd N --config JSON`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import resource
import signal
import socket
import ssl
import sys
import time
from dataclasses import asdict

from liveness.server.front import Front, FrontConfig


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx


async def serve(cfg: FrontConfig, sock: socket.socket) -> None:
    """Serve on the listening `sock` until SIGTERM/SIGINT or the parent process is gone."""
    front = Front(cfg)
    ctx = tls_context(cfg.tls_cert, cfg.tls_key) if cfg.tls_cert and cfg.tls_key else None
    server = await asyncio.start_server(
        front.client, sock=sock, ssl=ctx, limit=cfg.max_head_bytes,
        ssl_handshake_timeout=cfg.head_timeout_s if ctx else None, backlog=1024,
    )  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    parent = os.getppid()
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
        if os.getppid() != parent:
            break
    front.stopping = True
    server.close()
    for t in list(front.idle):
        t.cancel()
    deadline = time.monotonic() + cfg.graceful_timeout_s
    while front.connections and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


def main(argv: list[str] | None = None) -> int:
    """Started by `liveness serve` with the listening socket it bound."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--fd", type=int, required=True, help="inherited listening socket")
    ap.add_argument("--config", required=True, help="FrontConfig as JSON")
    ap.add_argument(
        "--status-fd", type=int, default=None,
        help="a pipe to `liveness serve`: 'stopped' is written there on a clean stop",
    )  # fmt: skip
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[front] %(levelname)s %(message)s")
    cfg = FrontConfig(**json.loads(args.config))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # room for max_connections
    want = cfg.max_connections + 256
    if soft != resource.RLIM_INFINITY and soft < want:
        top = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (top, hard))
    sock = socket.socket(fileno=args.fd)
    asyncio.run(serve(cfg, sock))
    if args.status_fd is not None:  # stopped as asked (a crash never gets here)
        with contextlib.suppress(OSError), os.fdopen(args.status_fd, "wb") as status:
            status.write(b"stopped")
    return 0


def config_json(cfg: FrontConfig) -> str:
    return json.dumps(asdict(cfg))


if __name__ == "__main__":
    sys.exit(main())
