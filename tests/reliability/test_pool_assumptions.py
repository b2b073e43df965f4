"""What acountee/db/pool.py relies on in psycopg-pool beyond its documentation, checked against
the pinned version (pyproject: psycopg-pool==3.3.3). If an upgrade changes any of it, this
fails before the database-down behaviour silently does (docs/adr/0006).

Each runs the stock `ConnectionPool` for real: against the test database, or against a closed
port (nothing listens on 127.0.0.1:1, so every attempt is refused at once)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from psycopg_pool import ConnectionPool

from acountee.db.pool import ObservedConnection, reachability
from tests.reliability.conftest import _conninfo

CLOSED = "host=127.0.0.1 port=1 dbname=acountee_nowhere user=nobody connect_timeout=2"


@pytest.fixture
def pools() -> Iterator[list[ConnectionPool[Any]]]:
    opened: list[ConnectionPool[Any]] = []
    yield opened
    for pool in opened:
        pool.close(timeout=1)


def _pool(pools: list, conninfo: str = "", **options: Any) -> ConnectionPool[Any]:
    pool: ConnectionPool[Any] = ConnectionPool(conninfo, connection_class=ObservedConnection, open=False, **options)
    pools.append(pool)
    return pool


@pytest.mark.django_db
def test_every_attempt_goes_through_connection_class_and_a_broken_connection_is_replaced_at_once(pools):
    params = {k: v for k, v in _conninfo().items() if v is not None}
    server = reachability("", params)
    before = server.attempts
    pool = _pool(pools, kwargs=params, min_size=1, max_size=2)
    pool.open(wait=True, timeout=10)
    assert server.attempts > before and server.error is None

    conn = pool.getconn()
    conn.close()  # broken while in use
    seen = server.attempts
    pool.putconn(conn)
    # The pool discards it and opens a replacement straight away, through connection_class.
    assert server.wait_for_attempt(seen, timeout=2.0), "no replacement attempt after a broken connection came back"
    assert server.error is None
    assert pool.get_stats()["pool_available"] >= 1


def test_a_refused_attempt_is_reported_and_retried_within_reconnect_timeout():
    server = reachability(CLOSED)
    given_up: list[float] = []
    pool = ConnectionPool(
        CLOSED,
        connection_class=ObservedConnection,
        open=False,
        min_size=1,
        max_size=1,
        reconnect_timeout=1.0,
        reconnect_failed=lambda _pool: given_up.append(time.monotonic()),
    )
    try:
        seen = server.attempts
        opened = time.monotonic()
        pool.open()
        assert server.wait_for_attempt(seen, timeout=2.0)
        assert server.error is not None  # reported, refused
        first = time.monotonic()
        assert first - opened < 1.0
        # psycopg's backoff (1 s) is cut to what is left of reconnect_timeout: the next attempt
        # comes within about a second, and the attempt is given up soon after.
        seen = server.attempts
        assert server.wait_for_attempt(seen, timeout=1.6), "no retry within reconnect_timeout"
        deadline = time.monotonic() + 3
        while not given_up and time.monotonic() < deadline:
            time.sleep(0.05)
        assert given_up, "reconnect_failed was not called after reconnect_timeout"

        # Given up, the pool is empty and tries no more on its own: check() grows it again — what
        # guarded_getconn does while the server is known down.
        for _ in range(3):
            seen = server.attempts
            deadline = time.monotonic() + 1.6
            while time.monotonic() < deadline:
                pool.check()  # as each request does; the first may land while an attempt is winding down
                if server.wait_for_attempt(seen, timeout=0.2):
                    break
            assert server.attempts > seen, "check() on an empty pool started no attempt"
            assert server.error is not None
    finally:
        pool.close(timeout=1)
