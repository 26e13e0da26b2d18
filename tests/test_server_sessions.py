"""Session stores (SQLite file and a real Redis): single use, expiry, races, rate counters."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from liveness.server.sessions import Outcome, SessionStore, open_store

from .serverkit import redis_url  # noqa: F401 - fixture

T0 = 1_700_000_000.0


@pytest.fixture(params=["sqlite", "redis"])
def store(
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> Iterator[SessionStore]:
    if request.param == "sqlite":
        s = open_store(f"sqlite:///{tmp_path / 's.sqlite3'}")
    else:
        url = request.getfixturevalue("redis_url")
        s = open_store(url)
        s._redis.flushdb()  # type: ignore[attr-defined]
    yield s
    s.close()


def test_single_use(store: SessionStore) -> None:
    store.create("a" * 32, "left-up", T0 + 180, T0)
    got = store.consume("a" * 32, T0 + 1)
    assert got.outcome is Outcome.OK and got.challenge == "left-up"
    assert store.consume("a" * 32, T0 + 2).outcome is Outcome.USED
    assert store.consume("b" * 32, T0 + 2).outcome is Outcome.UNKNOWN


def test_expiry(store: SessionStore) -> None:
    store.create("c" * 32, "left", T0 + 180, T0)
    assert store.consume("c" * 32, T0 + 180).outcome is Outcome.EXPIRED
    assert store.consume("c" * 32, T0 + 10).outcome is Outcome.OK  # the clock is the caller's


def test_concurrent_consumers_exactly_one_wins(store: SessionStore) -> None:
    for i in range(5):
        store.create(f"race{i:028d}", "up", T0 + 180, T0)
    for i in range(5):
        wins: list[Outcome] = []
        barrier = threading.Barrier(8)

        def worker(
            i: int = i, barrier: threading.Barrier = barrier, wins: list[Outcome] = wins
        ) -> None:
            barrier.wait()
            wins.append(store.consume(f"race{i:028d}", T0 + 1).outcome)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert wins.count(Outcome.OK) == 1 and wins.count(Outcome.USED) == 7


def test_rate_limit_sliding_window(store: SessionStore) -> None:
    assert store.take("ip:1", 3, 60, T0) == (True, 0.0)
    assert store.take("ip:1", 3, 60, T0 + 10)[0] and store.take("ip:1", 3, 60, T0 + 39)[0]
    assert store.take("ip:1", 3, 60, T0 + 40) == (False, 20.0)  # the first leaves at T0 + 60
    assert store.take("ip:2", 3, 60, T0 + 40)[0]  # per key
    assert store.take("ip:1", 3, 60, T0 + 59.5) == (False, 0.5)  # refusals do not count
    assert store.take("ip:1", 3, 60, T0 + 60)[0]  # one slot freed, taken
    assert not store.take("ip:1", 3, 60, T0 + 65)[0]
    assert store.take("ip:1", 3, 60, T0 + 70)[0]
    assert store.ping()


def test_rate_limit_has_no_window_edge_burst(store: SessionStore) -> None:
    """A fixed window let 2x the limit through around a window edge (issue 12)."""
    edge = (T0 // 60 + 1) * 60  # a fixed window's edge
    allowed = [store.take("ip:9", 60, 60, edge - 2.4 + i * 0.04)[0] for i in range(120)]
    assert sum(allowed) == 60  # 120 requests in 4.8 s across the edge: 60 allowed


def test_sqlite_file_is_shared_between_store_objects(tmp_path: Path) -> None:
    a = open_store(f"sqlite:///{tmp_path / 'shared.sqlite3'}")
    b = open_store(f"sqlite:///{tmp_path / 'shared.sqlite3'}")
    a.create("d" * 32, "down", T0 + 180, T0)
    assert b.consume("d" * 32, T0).outcome is Outcome.OK
    assert a.consume("d" * 32, T0).outcome is Outcome.USED


def test_bad_urls() -> None:
    for url in ("sqlite://", "sqlite:///:memory:", "postgres://x", "nonsense"):
        with pytest.raises(ValueError, match=r"sqlite|sessions URL"):
            open_store(url)


def test_unreachable_redis_is_not_ready() -> None:
    s = open_store("redis://127.0.0.1:1/0")
    assert s.ping() is False
