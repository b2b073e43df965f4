"""Reads that tolerate lag go to the streaming replica; everything else stays on the primary
(docs/deployment.md, docs/adr/0011-replica-reads-and-read-your-writes.md).

Only with `PGURI_REPLICA` set (the `replica` alias; settings install `ReplicaRouter` then). The rule:

- **Opt-in.** A read goes to the replica only inside `reads_from_replica()` (a context manager and a
  decorator): reports, exports and large lists use it. Every other read, and every write, goes to the primary.
- **Read-your-writes.** A request that writes (an unsafe method, or any write through the ORM) reads from the
  primary for the rest of the request, and its response carries the cookie `acountee_primary_lsn` with the
  primary's WAL position after the write. A later request carrying it — on any app server — reads from the
  replica only once the replica has replayed that position; until then from the primary. Nothing is kept on
  the app server: the cookie is the whole state.
- **Never an error.** A replica that cannot be reached, or lags more than `REPLICA_MAX_LAG` seconds, is left
  alone for `REPLICA_RETRY_SECONDS` and the reads go to the primary; a read that fails on the replica
  mid-request is run again on the primary (`reads_from_replica` as a decorator).

Each process looks at the replica (its replay position and lag, one short query on each server) at most every
`REPLICA_CHECK_SECONDS`; `/readyz` shows the last look (`replica_status`).
"""

from __future__ import annotations

import contextvars
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

REPLICA = "replica"
PRIMARY = "default"
PIN_COOKIE = "acountee_primary_lsn"
ROUTING_HEADER = "X-Acountee-Read-DB"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

_wanted: contextvars.ContextVar[bool] = contextvars.ContextVar("acountee_replica_wanted", default=False)
# Per request: the primary's WAL position the client must see (from its cookie), whether this request wrote,
# and which databases served its reads.
_request: contextvars.ContextVar[RequestRouting | None] = contextvars.ContextVar("acountee_routing", default=None)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class RequestRouting:
    min_lsn: int | None = None
    wrote: bool = False
    served_by: set[str] | None = None


@dataclass(frozen=True)
class ReplicaStatus:
    """The last look at the replica from this process."""

    checked_at: float  # time.monotonic()
    reachable: bool
    replay_lsn: int | None = None
    lag_seconds: float | None = None
    lag_bytes: int | None = None
    error: str = ""

    @property
    def usable(self) -> bool:
        return self.reachable and self.lag_seconds is not None and self.lag_seconds <= settings.REPLICA_MAX_LAG

    def as_dict(self) -> dict[str, Any]:
        return {
            "reachable": self.reachable,
            "lag_seconds": None if self.lag_seconds is None else round(self.lag_seconds, 3),
            "lag_bytes": self.lag_bytes,
            "max_lag_seconds": settings.REPLICA_MAX_LAG,
            "reads": "replica" if self.usable else "primary",
            **({"error": self.error} if self.error else {}),
        }


_status: ReplicaStatus | None = None
_status_lock = threading.Lock()


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def parse_lsn(text: str | None) -> int | None:
    """PostgreSQL's `X/Y` WAL position as a number (None if absent or malformed)."""
    if not text or "/" not in text:
        return None
    high, _, low = text.partition("/")
    try:
        return (int(high, 16) << 32) + int(low, 16)
    except ValueError:
        return None


def format_lsn(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


def _look() -> ReplicaStatus:
    """One look at the replica: its replay position and how far behind the primary it is."""
    now = time.monotonic()
    try:
        with connections[REPLICA].cursor() as cursor:
            # Caught up with what it received from a live WAL stream: no lag. Otherwise (replaying, or cut off
            # from the primary, when it cannot know what it misses) the age of the last transaction replayed.
            cursor.execute(
                "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text,"
                " CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()"
                " AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver) THEN 0"  # our role sees the row, not its status
                " ELSE greatest(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END"
            )
            in_recovery, replay_text, lag_seconds = cursor.fetchone()
    except DatabaseError as exc:
        _discard(REPLICA)
        return ReplicaStatus(checked_at=now, reachable=False, error=type(exc).__name__)
    replay = parse_lsn(replay_text)
    if not in_recovery or replay is None:
        # Promoted, or not a replica at all: reads stay on the primary until an operator sorts it out.
        return ReplicaStatus(checked_at=now, reachable=True, error="not a streaming replica")
    lag_bytes: int | None = None
    try:
        with connections[PRIMARY].cursor() as cursor:
            # What the primary has flushed (and so may have sent), not its insert position: an idle system's
            # replica is 0 bytes behind.
            cursor.execute("SELECT pg_current_wal_flush_lsn()::text")
            current = parse_lsn(cursor.fetchone()[0])
        lag_bytes = max(current - replay, 0) if current is not None else None
    except DatabaseError:
        pass  # the primary's trouble is /readyz's main answer; the lag in seconds still stands
    return ReplicaStatus(
        checked_at=now,
        reachable=True,
        replay_lsn=replay,
        lag_seconds=float(lag_seconds or 0.0),
        lag_bytes=lag_bytes,
    )


def _discard(alias: str) -> None:
    with suppress(DatabaseError):
        connections[alias].close()


def replica_status(*, fresh: bool = False) -> ReplicaStatus | None:
    """The replica's state as this process last saw it, looked at again when older than
    REPLICA_CHECK_SECONDS (REPLICA_RETRY_SECONDS after it was found unusable). None without a replica."""
    global _status
    if not replica_configured():
        return None
    with _status_lock:
        status = _status
        if status is not None and not fresh:
            age = time.monotonic() - status.checked_at
            limit = settings.REPLICA_CHECK_SECONDS if status.usable else settings.REPLICA_RETRY_SECONDS
            if age < limit:
                return status
        status = _look()
        if not status.usable and (_status is None or _status.usable):
            logger.warning("replica unusable (%s): reads go to the primary", status.as_dict())
        _status = status
        return status


def mark_replica_unusable(error: BaseException) -> None:
    global _status
    with _status_lock:
        _status = ReplicaStatus(checked_at=time.monotonic(), reachable=False, error=type(error).__name__)
    _discard(REPLICA)
    logger.warning("replica read failed (%s): reads go to the primary", type(error).__name__)


def _replica_for_this_read() -> bool:
    if not _wanted.get():
        return False
    routing = _request.get()
    if routing is not None and routing.wrote:
        return False
    status = replica_status()
    if status is None or not status.usable:
        return False
    if routing is not None and routing.min_lsn is not None:
        return status.replay_lsn is not None and status.replay_lsn >= routing.min_lsn
    return True


class ReplicaRouter:
    """Django's database router (settings.DATABASE_ROUTERS when PGURI_REPLICA is set)."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        alias = REPLICA if _replica_for_this_read() else PRIMARY
        routing = _request.get()
        if routing is not None and routing.served_by is not None:
            routing.served_by.add(alias)
        return alias

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        routing = _request.get()
        if routing is not None:
            routing.wrote = True
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True  # the same database, one of them a copy

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        return db == PRIMARY


@contextmanager
def _replica_wanted() -> Iterator[None]:
    token = _wanted.set(True)
    try:
        yield
    finally:
        _wanted.reset(token)


def reads_from_replica(func: F | None = None) -> Any:
    """Let the reads inside go to the replica (when it is usable and has what this client wrote).

    As a context manager: `with reads_from_replica(): ...`. As a decorator of a view or a selector: the same,
    and a read that fails on the replica is run once more on the primary (reads only: never decorate a
    function that writes)."""
    if func is None:
        return _replica_wanted()

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not replica_configured():
            return func(*args, **kwargs)
        try:
            with _replica_wanted():
                return func(*args, **kwargs)
        except DatabaseError as exc:
            status = _status
            if status is None or not status.usable or not _served_by_replica():
                raise
            mark_replica_unusable(exc)
            routing = _request.get()
            if routing is not None and routing.served_by is not None:
                routing.served_by.discard(REPLICA)  # what the answer says comes from the primary only
            return func(*args, **kwargs)

    return wrapper


def _served_by_replica() -> bool:
    routing = _request.get()
    return routing is None or routing.served_by is None or REPLICA in routing.served_by


def _primary_lsn() -> str | None:
    """Where the primary's WAL ends now: past the commit record of every transaction committed so far. The
    insert position, not `pg_current_wal_lsn()` (the write position), which lags it when commits are
    asynchronous (synchronous_commit = off): a replica that replayed that far may still miss the commit."""
    try:
        with connections[PRIMARY].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_insert_lsn()::text")
            return str(cursor.fetchone()[0])
    except DatabaseError:
        return None


class ReadYourWritesMiddleware:
    """Keeps a client on the primary after it writes (module docstring). Installed first-ish in MIDDLEWARE;
    does nothing without a replica."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not replica_configured():
            return self.get_response(request)
        routing = RequestRouting(
            min_lsn=parse_lsn(request.COOKIES.get(PIN_COOKIE)),
            wrote=request.method not in SAFE_METHODS,
            served_by=set(),
        )
        token = _request.set(routing)
        try:
            response = self.get_response(request)
        finally:
            _request.reset(token)
        if routing.wrote:
            lsn = _primary_lsn()
            if lsn is not None:
                response.set_cookie(
                    PIN_COOKIE,
                    lsn,
                    max_age=int(max(settings.REPLICA_MAX_LAG, 60)),
                    secure=settings.SESSION_COOKIE_SECURE,
                    httponly=True,
                    samesite="Lax",
                )
        if settings.DB_ROUTING_HEADER and routing.served_by:
            response[ROUTING_HEADER] = ",".join(
                sorted("primary" if alias == PRIMARY else alias for alias in routing.served_by)
            )
        return response
