"""Session stores shared by every worker: SQLite (a file, WAL) or Redis; also rate counters."""

from __future__ import annotations

import enum
import secrets
import sqlite3
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

USED_GRACE_S = 3600.0  # used/expired sessions are kept this long, so a retry gets 410, not 404


class Outcome(enum.Enum):
    OK = "ok"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Consumed:
    outcome: Outcome
    challenge: str = ""


class SessionStore(ABC):
    """Single-use sessions and sliding-window rate limits. Times are seconds on the app's clock."""

    @abstractmethod
    def create(self, session_id: str, challenge: str, expires_at: float, now: float) -> None: ...

    @abstractmethod
    def consume(self, session_id: str, now: float) -> Consumed:
        """Atomically mark the session used; only the first caller gets OK, across processes."""

    @abstractmethod
    def take(self, key: str, limit: int, window_s: float, now: float) -> tuple[bool, float]:
        """Sliding-window rate limit: allow this event if `key` had fewer than `limit` allowed
        events in the last `window_s` seconds (then it counts), else refuse it (it does not
        count). Returns (allowed, seconds until one is allowed again; 0 when allowed). At most
        `limit` events are ever allowed in any `window_s`-long interval: no window-edge burst."""

    @abstractmethod
    def ping(self) -> bool: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        pass


class SQLiteStore(SessionStore):
    """One SQLite file shared by all workers on one machine (WAL, one connection per thread)."""

    SCHEMA = (
        "CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, challenge TEXT NOT NULL, "
        "expires_at REAL NOT NULL, used INTEGER NOT NULL DEFAULT 0, used_at REAL)",
        "CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (expires_at)",
        "CREATE TABLE IF NOT EXISTS rate_hits (key TEXT NOT NULL, t REAL NOT NULL)",
        "CREATE INDEX IF NOT EXISTS rate_hits_key_t ON rate_hits (key, t)",
    )

    def __init__(self, path: str | Path, purge_every_s: float = 60.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._purge_every = purge_every_s
        self._last_purge = 0.0
        self._max_window = 0.0
        conn = self._conn()
        with conn:
            for stmt in self.SCHEMA:
                conn.execute(stmt)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=10000")
            self._local.conn = conn
        return conn

    def create(self, session_id: str, challenge: str, expires_at: float, now: float) -> None:
        conn = self._conn()
        conn.execute(
            "INSERT INTO sessions (id, challenge, expires_at) VALUES (?, ?, ?)",
            (session_id, challenge, expires_at),
        )
        self._maybe_purge(now)

    def consume(self, session_id: str, now: float) -> Consumed:
        conn = self._conn()
        # One statement: SQLite serialises writers, so exactly one caller sees the row change.
        row = conn.execute(
            "UPDATE sessions SET used = 1, used_at = ? WHERE id = ? AND used = 0 "
            "AND expires_at > ? RETURNING challenge",
            (now, session_id, now),
        ).fetchone()
        if row is not None:
            return Consumed(Outcome.OK, str(row[0]))
        row = conn.execute("SELECT used FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            return Consumed(Outcome.UNKNOWN)
        return Consumed(Outcome.USED if row[0] else Outcome.EXPIRED)

    def take(self, key: str, limit: int, window_s: float, now: float) -> tuple[bool, float]:
        conn = self._conn()
        self._max_window = max(self._max_window, window_s)
        conn.execute("BEGIN IMMEDIATE")  # one writer at a time, across processes
        try:
            conn.execute("DELETE FROM rate_hits WHERE key = ? AND t <= ?", (key, now - window_s))
            n, oldest = conn.execute(
                "SELECT COUNT(*), MIN(t) FROM rate_hits WHERE key = ?", (key,)
            ).fetchone()
            allowed = n < limit
            if allowed:
                conn.execute("INSERT INTO rate_hits (key, t) VALUES (?, ?)", (key, now))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return allowed, 0.0 if allowed else max(0.0, float(oldest) + window_s - now)

    def _maybe_purge(self, now: float) -> None:
        if now - self._last_purge < self._purge_every:
            return
        self._last_purge = now
        conn = self._conn()
        conn.execute("DELETE FROM sessions WHERE expires_at < ?", (now - USED_GRACE_S,))
        conn.execute("DELETE FROM rate_hits WHERE t <= ?", (now - self._max_window,))

    def ping(self) -> bool:
        try:
            self._conn().execute("SELECT 1").fetchone()
            return True
        except sqlite3.Error:
            return False

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


# KEYS[1] session hash; ARGV[1] now. Runs atomically inside Redis.
_CONSUME_LUA = """
local h = redis.call('HMGET', KEYS[1], 'challenge', 'expires_at', 'used')
if not h[1] then return {'unknown', ''} end
if h[3] == '1' then return {'used', ''} end
if tonumber(h[2]) <= tonumber(ARGV[1]) then return {'expired', ''} end
redis.call('HSET', KEYS[1], 'used', '1')
return {'ok', h[1]}
"""


# KEYS[1] sorted set of allowed events' times; ARGV now, window, limit, a unique member.
_TAKE_LUA = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('EXPIRE', KEYS[1], math.ceil(window) + 1)
  return {1, '0'}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tostring(math.max(0, tonumber(oldest[2]) + window - now))}
"""


class RedisStore(SessionStore):
    """Sessions in Redis (any number of machines): hashes with a TTL, consumed by a Lua script."""

    def __init__(self, url: str, prefix: str = "liveness:") -> None:
        import redis

        self._redis: Any = redis.Redis.from_url(url, socket_timeout=5.0, decode_responses=True)
        self._prefix = prefix
        self._consume = self._redis.register_script(_CONSUME_LUA)
        self._take = self._redis.register_script(_TAKE_LUA)

    def create(self, session_id: str, challenge: str, expires_at: float, now: float) -> None:
        key = f"{self._prefix}session:{session_id}"
        ttl = max(1, int(expires_at - now + USED_GRACE_S))
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(key, mapping={"challenge": challenge, "expires_at": repr(expires_at), "used": 0})
        pipe.expire(key, ttl)
        pipe.execute()

    def consume(self, session_id: str, now: float) -> Consumed:
        status, challenge = self._consume(
            keys=[f"{self._prefix}session:{session_id}"], args=[repr(now)]
        )
        return Consumed(Outcome(status), challenge)

    def take(self, key: str, limit: int, window_s: float, now: float) -> tuple[bool, float]:
        allowed, retry = self._take(
            keys=[f"{self._prefix}rate:{key}"],
            args=[repr(now), repr(float(window_s)), limit, f"{now!r}:{secrets.token_hex(8)}"],
        )
        return bool(int(allowed)), float(retry)

    def ping(self) -> bool:
        try:
            return bool(self._redis.ping())
        except Exception:  # any connection error means "not ready"
            return False

    def close(self) -> None:
        self._redis.close()


def open_store(url: str) -> SessionStore:
    """sqlite:///abs/path.sqlite3 (or sqlite:///rel/path) or redis://host:port/db."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""
        if not path or path == ":memory:":
            raise ValueError(f"{url!r}: need sqlite:///PATH to a file (shared by the workers)")
        # sqlite:////abs/path and sqlite:///abs/path (after the triple slash) both work.
        return SQLiteStore(path if path.startswith("/") else Path(path).resolve())
    if parsed.scheme in ("redis", "rediss", "unix"):
        return RedisStore(url)
    raise ValueError(f"unknown sessions URL {url!r}: use sqlite:///PATH or redis://HOST:PORT/DB")
