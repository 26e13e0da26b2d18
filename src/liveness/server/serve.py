"""`liveness serve`: gunicorn workers (each loads the model once), TLS, self-signed certificates."""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from liveness.server.settings import ServerSettings, cache_dir

log = logging.getLogger("liveness.server")


@dataclasses.dataclass(frozen=True)
class ServeOptions:
    model: str | None = None  # None: the bundled model
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    threads: int = 1  # model threads per worker
    http_threads: int = 4  # request threads per worker (uploads overlap; model calls take turns)
    timeout_s: int = 60  # a worker silent this long is restarted
    graceful_timeout_s: int = 20  # in-flight checks get this long on shutdown/reload
    check_face: bool = True
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_self_signed: bool = False


def load_service_predictor(model: str | None, threads: int, check_face: bool) -> tuple[Any, str]:
    """Verify the model file's integrity, then load it once: (predictor, sha256)."""
    from liveness.predict import BUNDLED, load_predictor
    from liveness.server.integrity import verify_model_file

    sha = verify_model_file(model if model is not None else BUNDLED)
    return load_predictor(model, threads=threads, check_face=check_face), sha


def worker_app(settings: ServerSettings, opts: ServeOptions, metrics_dir: Path | None) -> Any:
    """Runs in each worker process after the fork: one model per process, never shared."""
    from liveness.server.app import create_app

    predictor, sha = load_service_predictor(opts.model, opts.threads, opts.check_face)
    return create_app(settings, predictor, model_sha256=sha, metrics_dir=metrics_dir)


def lan_address() -> str | None:
    """This machine's address on the LAN (the route to a private address; nothing is sent)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))
            addr = str(s.getsockname()[0])
    except OSError:
        return None
    return None if addr.startswith("127.") else addr


def self_signed_cert(
    directory: Path | None = None, hosts: list[str] | None = None
) -> tuple[Path, Path]:
    """A self-signed certificate (30 days) for `hosts`, cached; made with the openssl CLI."""
    directory = directory or cache_dir() / "tls"
    names = sorted(set(hosts or []) | {"localhost", "127.0.0.1"})
    tag = "-".join(n.replace(":", "_") for n in names)[:120]
    cert, key = directory / f"{tag}.crt", directory / f"{tag}.key"
    if cert.is_file() and key.is_file():
        check = subprocess.run(
            ["openssl", "x509", "-checkend", "86400", "-noout", "-in", str(cert)],
            capture_output=True,
        )
        if check.returncode == 0:
            return cert, key
    if shutil.which("openssl") is None:
        raise ValueError("--tls-self-signed needs the openssl command (apt-get install openssl)")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    san = []
    for n in names:
        try:
            ipaddress.ip_address(n)
            san.append(f"IP:{n}")
        except ValueError:
            san.append(f"DNS:{n}")
    cmd = [
        "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-days", "30", "-subj", "/CN=liveness self-signed", "-keyout", str(key),
        "-out", str(cert), "-addext", "subjectAltName=" + ",".join(san),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise ValueError(f"openssl could not make a certificate: {done.stderr.strip()}")
    os.chmod(key, 0o600)
    return cert, key


def run_server(settings: ServerSettings, opts: ServeOptions) -> int:
    """Serve until SIGTERM/SIGINT (graceful: in-flight requests finish)."""
    from gunicorn.app.base import BaseApplication

    from liveness.server.sessions import open_store

    open_store(settings.sessions_url).close()  # fail fast (bad URL, unreachable Redis)
    # Fail fast on a tampered or corrupted model too (each worker checks it again at load).
    from liveness.predict import BUNDLED
    from liveness.server.integrity import verify_model_file

    verify_model_file(opts.model if opts.model is not None else BUNDLED)
    if settings.audit_dir is not None:  # refuse a directory holding anything else, now
        from liveness.server.audit import open_audit_dir

        open_audit_dir(settings.audit_dir)
    cert, key = opts.tls_cert, opts.tls_key
    if opts.tls_self_signed:
        lan = lan_address()
        hosts = [h for h in (opts.host, lan) if h and h not in ("0.0.0.0", "::")]
        c, k = self_signed_cert(hosts=hosts)
        cert, key = str(c), str(k)
    if bool(cert) != bool(key):
        raise ValueError("give both --tls-cert and --tls-key")
    scheme = "https" if cert else "http"
    shown = lan_address() if opts.host in ("0.0.0.0", "::") else opts.host
    print(f"liveness: serving on {scheme}://{shown or opts.host}:{opts.port}/", flush=True)
    if opts.tls_self_signed:
        print(f"liveness: self-signed certificate {cert} (accept it once in the phone's browser)")
    metrics_dir = Path(tempfile.mkdtemp(prefix="liveness-metrics-"))
    config = {
        "bind": f"[{opts.host}]:{opts.port}" if ":" in opts.host else f"{opts.host}:{opts.port}",
        "workers": opts.workers,
        "worker_class": "gthread",
        "threads": opts.http_threads,
        "timeout": opts.timeout_s,
        "graceful_timeout": opts.graceful_timeout_s,
        "keepalive": 5,
        "preload_app": False,  # each worker loads its own model after the fork
        "limit_request_line": 4094,
        "limit_request_fields": 100,
        "certfile": cert,
        "keyfile": key,
        "accesslog": "-",
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "liveness",
    }

    class _App(BaseApplication):
        def load_config(self) -> None:
            for k, v in config.items():
                if v is not None:
                    self.cfg.set(k, v)

        def load(self) -> Any:
            return worker_app(settings, opts, metrics_dir)

    try:
        _App().run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0
