"""What a web app needs from psycopg's stock `ConnectionPool` when the server goes away and comes
back (docs/operations.md, "Database down"; docs/adr/0006-database-failures-and-pool.md).

Django builds the stock pool from `OPTIONS["pool"]` (acountee/settings.py). Everything here uses
the pool's documented surface only — its constructor parameters, `getconn()`, `putconn()`,
`check()`, `get_stats()`, `check_connection()` — and wraps it; nothing subclasses or reaches
into pool internals:

- `ObservedConnection` is the pool's `connection_class` (a documented parameter: "a Connection
  subclass"): every connection attempt the pool makes reports its outcome to the server's
  `Reachability`. That is how a request learns, within milliseconds, that the server refuses
  connections, instead of queueing for the whole pool timeout.
- `reconnect_timeout` (`DB_POOL_RECONNECT_MAX_DELAY`, 1 s): psycopg's backoff (1 s, doubling) never
  waits past it, so the pool tries again at least that often; an attempt given up is started
  again by the next request (`getconn()` of an empty pool grows it; `check()` too).
- `guarded_getconn()` runs around the pool's `getconn()` (our backend calls it from
  `get_new_connection`, a documented backend method):
  1. it checks the connection it is handed (`ConnectionPool.check_connection`); a broken one is
     handed back — the pool replaces it at once — and the next one tried without sleeping (the
     pool's own `check` sleeps 1, 2, 4 s between broken connections, which is why the settings
     leave `CONN_HEALTH_CHECKS` off);
  2. after a broken connection with nothing idle left, or while the last attempt failed, it
     waits for the *outcome* of the pool's next attempt (at most `UNREACHABLE_WAIT`) instead of
     queueing: a refused attempt answers `DatabaseUnreachable` (503 DATABASE_UNAVAILABLE) at once;
  3. otherwise it queues as the stock pool does: an exhausted pool (server up, every connection
     busy) still waits the full `timeout` and raises `PoolTimeout` (503 POOL_EXHAUSTED).

What this relies on beyond psycopg-pool's documentation — the pool opens connections through
`connection_class.connect()`, hands a returned broken connection to a replacement attempt at once,
and `check()` grows an empty pool — is pinned (pyproject: psycopg-pool==3.3.3) and checked by
tests/reliability/test_pool_assumptions.py, which fails if an upgrade changes it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from time import monotonic
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

# While the server is known to be unreachable, how long a request waits for the outcome of a
# fresh connection attempt before it gets its 503.
UNREACHABLE_WAIT = 0.5

_SERVER_KEYS = ("host", "port", "dbname", "user")


class DatabaseUnreachable(psycopg.OperationalError):
    """The pool could not open a connection to the server: it is down or refuses us."""


class Reachability:
    """The outcome of the latest connection attempt to one server, by any pool of this process."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.attempts = 0
        self.error: BaseException | None = None

    def record(self, error: BaseException | None) -> None:
        with self._changed:
            self.attempts += 1
            self.error = error
            self._changed.notify_all()

    def wait_for_attempt(self, after: int, timeout: float) -> bool:
        """Wait until an attempt later than number `after` has ended; False if none did in time."""
        with self._changed:
            return self._changed.wait_for(lambda: self.attempts > after, timeout=max(timeout, 0.0))

    def unreachable_error(self) -> DatabaseUnreachable:
        reason = str(self.error or "unknown error").strip().splitlines()
        return DatabaseUnreachable(f"cannot connect to the database: {reason[0] if reason else 'unknown error'}")


_servers: dict[tuple[str, ...], Reachability] = {}
_servers_lock = threading.Lock()


def reachability(conninfo: str = "", params: Mapping[str, Any] | None = None) -> Reachability:
    """The `Reachability` of the server a connection string and/or parameters point at."""
    given = {key: (params or {}).get(key) for key in _SERVER_KEYS}
    merged = conninfo_to_dict(conninfo, **{k: v for k, v in given.items() if v not in (None, "")})
    key = tuple(str(merged.get(name) or "") for name in _SERVER_KEYS)
    with _servers_lock:
        return _servers.setdefault(key, Reachability())


class ObservedConnection(psycopg.Connection[Any]):
    """The pool's `connection_class`: a plain psycopg connection whose `connect()` reports each
    attempt's outcome to the server's `Reachability`."""

    @classmethod
    def connect(cls, conninfo: str = "", **kwargs: Any) -> Any:
        server = reachability(conninfo, kwargs)
        try:
            conn = super().connect(conninfo, **kwargs)
        except Exception as exc:
            server.record(exc)
            raise
        server.record(None)
        return conn


def _healthy(conn: Any) -> bool:
    try:
        ConnectionPool.check_connection(conn)
    except Exception:
        return False
    return True


def _idle(pool: ConnectionPool[Any]) -> int:
    return int(pool.get_stats().get("pool_available", 0))


def guarded_getconn(
    pool: ConnectionPool[Any],
    server: Reachability,
    getconn: Callable[[], Any] | None = None,
    timeout: float | None = None,
) -> Any:
    """A healthy connection from `pool`, or `DatabaseUnreachable` as soon as the server is known
    to refuse connections, or `PoolTimeout` after `timeout` (the pool's) when it is exhausted.

    `getconn` obtains one connection the way the caller wants (Django's own
    `get_new_connection`); by default `pool.getconn(timeout=…)`."""
    timeout = pool.timeout if timeout is None else timeout
    deadline = monotonic() + timeout
    pool.open()
    while True:
        remaining = deadline - monotonic()
        if remaining <= 0:
            raise PoolTimeout(f"no free database connection within {timeout:.1f} s")
        seen = server.attempts
        if server.error is not None and _idle(pool) == 0:
            # Known unreachable and nothing idle: do not queue for the whole timeout. Make sure an
            # attempt is under way (an empty pool grows on check()) and wait for its outcome.
            pool.check()
            server.wait_for_attempt(seen, min(remaining, UNREACHABLE_WAIT))
            if server.error is not None:
                raise server.unreachable_error()
            continue
        try:
            conn = getconn() if getconn is not None else pool.getconn(timeout=remaining)
        except PoolTimeout:
            if server.error is not None:
                raise server.unreachable_error() from None
            raise PoolTimeout(f"no free database connection within {timeout:.1f} s") from None
        if _healthy(conn):
            return conn
        # Broken under us (server restarted or gone): the pool drops it and starts a replacement
        # attempt at once. With nothing idle left, that attempt's outcome decides.
        seen = server.attempts
        pool.putconn(conn)
        waited = _idle(pool) == 0 and server.wait_for_attempt(seen, min(deadline - monotonic(), UNREACHABLE_WAIT))
        if waited and server.error is not None:
            raise server.unreachable_error()
