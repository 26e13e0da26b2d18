"""`liveness serve`: the buffering front + gunicorn workers (each loads the model once), TLS."""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
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


def worker_app(
    settings: ServerSettings,
    opts: ServeOptions,
    metrics_dir: Path | None,
    model: tuple[Path, str, Path] | None = None,
) -> Any:
    """Runs in each worker process after the fork: one model per process, never shared.

    `model` = (verified private copy, its sha256, the original path): the worker loads the copy
    the master verified, so a file changed on disk since start-up is reported, never loaded.
    Requests come through the front (one more proxy hop, which appends the client address)."""
    from liveness.predict import load_predictor
    from liveness.server.app import create_app
    from liveness.server.integrity import ModelWatch, verify_copy

    behind_front = dataclasses.replace(settings, trusted_proxies=settings.trusted_proxies + 1)
    if model is None:
        predictor, sha = load_service_predictor(opts.model, opts.threads, opts.check_face)
        predictor.overlap = settings.overlap
        return create_app(behind_front, predictor, model_sha256=sha, metrics_dir=metrics_dir)
    copy, sha, original = model
    verify_copy(copy, sha)
    predictor = load_predictor(copy, threads=opts.threads, check_face=opts.check_face)
    predictor.overlap = settings.overlap
    app = create_app(behind_front, predictor, model_sha256=sha, metrics_dir=metrics_dir)
    app.extensions["liveness"].model_watch = ModelWatch(original, sha, served_copy=copy)
    return app


def listen(host: str, port: int) -> socket.socket:
    """The public listening socket, bound here so a busy port fails before anything starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ValueError(f"cannot listen on {host}:{port}: {e.strerror}") from None
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def start_front(sock: socket.socket, cfg: Any) -> tuple[subprocess.Popen[bytes], int]:
    """The buffering front (liveness.server.front) in its own process, on `sock`; and the read
    end of a pipe only the front can write to: it says "stopped" there when it stops as asked,
    and the pipe reaches end-of-file when the front is gone, however it went."""
    from liveness.server.front_main import config_json

    read, write = os.pipe()
    cmd = [sys.executable, "-m", "liveness.server.front_main", "--fd", str(sock.fileno()),
           "--config", config_json(cfg), "--status-fd", str(write)]  # fmt: skip
    try:
        return subprocess.Popen(cmd, pass_fds=(sock.fileno(), write)), read
    finally:
        os.close(write)  # the front's alone: its exit is the pipe's end


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
    from liveness.server.sessions import open_store

    open_store(settings.sessions_url).close()  # fail fast (bad URL, unreachable Redis)
    # The model is read and verified once, here; workers load these verified bytes (a private
    # copy), so a tampered file fails now and a file changed later is only reported.
    from liveness.predict import BUNDLED
    from liveness.server.integrity import snapshot_model

    original = Path(opts.model if opts.model is not None else BUNDLED).resolve()
    private = Path(tempfile.mkdtemp(prefix="liveness-serve-"))  # 0700: model copy, socket
    master = os.getpid()
    try:
        return _serve(
            settings, opts, private, original, snapshot_model(original, private / "model")
        )
    finally:
        # gunicorn's workers are forks of this process and leave through sys.exit, which
        # unwinds this very stack in the worker too: only the master may clean up, or a
        # worker that exits (SIGTERM, a timeout's SIGABRT) deletes the socket and the model
        # copy under the replacement and the master.
        if os.getpid() == master:
            shutil.rmtree(private, ignore_errors=True)


def _serve(
    settings: ServerSettings,
    opts: ServeOptions,
    private: Path,
    original: Path,
    verified: tuple[Path, str],
) -> int:
    from gunicorn.app.base import BaseApplication

    copy, sha = verified
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
    from liveness.server.front import FrontConfig
    from liveness.server.front_main import tls_context

    if cert and key:
        try:
            tls_context(cert, key)
        except (OSError, ssl.SSLError) as e:
            raise ValueError(f"cannot use the TLS certificate/key: {e}") from None
    sock = listen(opts.host, opts.port)
    shown = lan_address() if opts.host in ("0.0.0.0", "::") else opts.host
    print(f"liveness: serving on {scheme}://{shown or opts.host}:{opts.port}/", flush=True)
    if opts.tls_self_signed:
        print(f"liveness: self-signed certificate {cert} (accept it once in the phone's browser)")
    metrics_dir = private / "metrics"
    metrics_dir.mkdir()
    backend = str(private / "backend.sock")
    front_cfg = FrontConfig(
        backend=backend, max_body=settings.max_upload_bytes, tls_cert=cert, tls_key=key,
        backend_timeout_s=opts.timeout_s + 10.0, graceful_timeout_s=opts.graceful_timeout_s,
    )  # fmt: skip
    config = {
        "bind": f"unix:{backend}",  # only the front connects (slow clients never reach here)
        "workers": opts.workers,
        "worker_class": "gthread",
        "threads": opts.http_threads,
        "timeout": opts.timeout_s,
        "graceful_timeout": opts.graceful_timeout_s,
        "keepalive": 0,  # the front sends one request per connection
        "preload_app": False,  # each worker loads its own model after the fork
        # The front enforces the public limits (request line 4094 B, 100 header fields,
        # 8190 B a field); it adds up to 4 fields of its own.
        "limit_request_line": front_cfg.max_line,
        "limit_request_fields": front_cfg.max_fields + 8,
        "limit_request_field_size": front_cfg.max_head_bytes + 1024,
        "accesslog": "-",
        "access_log_format": '%({x-forwarded-for}i)s "%(r)s" %(s)s %(b)s %(M)sms',
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "liveness",
    }

    class _App(BaseApplication):
        def load_config(self) -> None:
            for k, v in config.items():
                if v is not None:
                    self.cfg.set(k, v)
            # gunicorn >= 25.1 opens a control socket at one path per user (~/.gunicorn/
            # gunicorn.ctl): a second instance would take it over and stopping either removes
            # it. Nothing here uses it.
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            return worker_app(settings, opts, metrics_dir, (copy, sha, original))

    front, status = start_front(sock, front_cfg)
    sock.close()  # the front holds it now
    master = os.getpid()
    stopping = threading.Event()
    front_died = threading.Event()

    def watch_front() -> None:
        """The front alone holds the public port: if it dies, nobody can connect while this
        process looks healthy to its supervisor. Stop the whole service instead, with exit
        status 1 if the front failed (not if it was stopped, as by a signal to the whole
        process group: Ctrl-C, `systemctl stop`), so a supervisor restarts it. (Its exit
        status cannot tell: gunicorn reaps every child of this process.)"""
        with os.fdopen(status, "rb") as pipe:
            said = pipe.read()  # blocks until the front is gone
        if not stopping.is_set():
            if b"stopped" not in said:
                front_died.set()
                log.error("the front (pid %d) died: stopping the service", front.pid)
            os.kill(master, signal.SIGTERM)  # gunicorn's graceful stop

    threading.Thread(target=watch_front, name="watch-front", daemon=True).start()
    try:
        _App().run()
    finally:
        if os.getpid() == master:  # not in a worker leaving through sys.exit (run_server)
            stopping.set()
            front.terminate()
            try:
                front.wait(timeout=opts.graceful_timeout_s + 5)
            except subprocess.TimeoutExpired:
                front.kill()
            if front_died.is_set():
                raise SystemExit(1)
    return 0
