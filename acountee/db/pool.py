"""The connection pool behind Django's `OPTIONS["pool"]`: psycopg's pool, tuned for a database
that goes away and comes back (docs/operations.md, "Database down").

psycopg's pool, as it comes, behaves badly for a web app when the server is down:

- every request queues for the whole pool timeout (`DB_POOL_TIMEOUT`, 5 s) before its 503;
- stale connections are checked one by one with a growing sleep between them;
- reconnection attempts back off exponentially (1, 2, 4 … 64 s), so a database that was
  down for a minute is noticed again only a minute after it returns.

This subclass changes three things and nothing else:

1. a failed connection attempt marks the server *unreachable* and fails every request
   waiting for a connection at once (`DatabaseUnreachable`, so the API answers
   `503 DATABASE_UNAVAILABLE` in milliseconds, not after the pool timeout); while it is
   unreachable a request waits at most `UNREACHABLE_WAIT` for a fresh attempt;
2. reconnection attempts back off to at most `reconnect_max_delay` (`DB_POOL_RECONNECT_MAX_DELAY`,
   1 s), so the pool serves again about a second after the server is back — no restart;
3. the health check of a pooled connection (`CONN_HEALTH_CHECKS`) runs here, and a broken
   connection is dropped and the next one tried at once instead of after a sleep.

A pool that is merely *exhausted* (server up, every connection busy) still queues a
request for the full pool timeout and then raises psycopg's `PoolTimeout`
(`503 POOL_EXHAUSTED`) — unless the pool's last attempt to open a connection failed (e.g.
the server refuses more connections: `max_connections`), in which case a request that finds
no idle connection waits only `UNREACHABLE_WAIT` and gets `DATABASE_UNAVAILABLE`, until an
attempt succeeds. The overrides touch psycopg_pool internals (`_connect`,
`_add_connection`, `_waiting`, `_lock`); pyproject pins psycopg-pool to the tested range and
tests/reliability/ exercise every path against a real server.
"""

from __future__ import annotations

from time import monotonic
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout
from psycopg_pool.base import AttemptWithBackoff

# While the server is known to be unreachable, how long a request waits for a new attempt
# to succeed before it gets its 503.
UNREACHABLE_WAIT = 0.5


class DatabaseUnreachable(psycopg.OperationalError):
    """The pool could not open a connection to the server: it is down or refuses us."""


class _CappedBackoff(AttemptWithBackoff):
    def __init__(self, *, timeout: float, max_delay: float):
        super().__init__(timeout=timeout)
        self.max_delay = max_delay

    def update_delay(self, now: float) -> None:
        super().update_delay(now)
        self.delay = min(self.delay, self.max_delay)


class AcounteePool(ConnectionPool):
    def __init__(self, *args: Any, reconnect_max_delay: float = 1.0, health_check: bool = True, **kwargs: Any):
        # The parent's own check loop sleeps between broken connections; ours does not.
        kwargs["check"] = None
        self.reconnect_max_delay = reconnect_max_delay
        self.health_check = health_check
        self._unreachable: BaseException | None = None
        super().__init__(*args, **kwargs)

    @property
    def unreachable(self) -> bool:
        return self._unreachable is not None

    def getconn(self, timeout: float | None = None) -> Any:
        timeout = self.timeout if timeout is None else timeout
        deadline = monotonic() + timeout
        while True:
            remaining = deadline - monotonic()
            if remaining <= 0:
                raise PoolTimeout(f"no free database connection within {timeout:.1f} s")
            was_unreachable = self._unreachable
            wait = min(remaining, UNREACHABLE_WAIT) if was_unreachable else remaining
            try:
                conn = super().getconn(timeout=wait)
            except PoolTimeout:
                if was_unreachable is not None or self._unreachable is not None:
                    raise self._unreachable_error() from None
                raise PoolTimeout(f"no free database connection within {timeout:.1f} s") from None
            if self._healthy(conn):
                return conn
            # A connection broken under us (server restarted or gone): the pool drops it and
            # opens a replacement in the background; try the next one at once.
            self.putconn(conn)

    def _healthy(self, conn: Any) -> bool:
        if not self.health_check:
            return True
        try:
            ConnectionPool.check_connection(conn)
        except Exception:
            return False
        return True

    def _connect(self, timeout: float | None = None) -> Any:
        try:
            conn = super()._connect(timeout)
        except Exception as exc:
            self._mark_unreachable(exc)
            raise
        self._unreachable = None
        return conn

    def _mark_unreachable(self, exc: BaseException) -> None:
        self._unreachable = exc
        with self._lock:
            waiting = list(self._waiting)
            self._waiting.clear()
        for client in waiting:
            client.fail(self._unreachable_error())

    def _unreachable_error(self) -> DatabaseUnreachable:
        reason = str(self._unreachable or "unknown error").strip().splitlines()
        return DatabaseUnreachable(f"cannot connect to the database: {reason[0] if reason else 'unknown error'}")

    def _add_connection(self, attempt: AttemptWithBackoff | None, growing: bool = False) -> None:
        if attempt is None:
            attempt = _CappedBackoff(timeout=self.reconnect_timeout, max_delay=self.reconnect_max_delay)
        super()._add_connection(attempt, growing=growing)
