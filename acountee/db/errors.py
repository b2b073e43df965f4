"""The one place that turns a database failure into a domain error (docs/operations.md).

The DRF exception handler, the middleware (admin and every non-API page) and the admin's
service helper all ask `domain_error(exc)`; none decides on its own. Errors that mean a bug
(a constraint a service forgot to check, bad SQL) are not mapped: they stay 500s.

| Cause (SQLSTATE / exception)                        | Status | Code                   |
|-----------------------------------------------------|--------|------------------------|
| cannot connect, connection lost, any other          | 503    | DATABASE_UNAVAILABLE   |
| OperationalError (class 08, 57P0x, 58, rest of 53)  |        |                        |
| every pooled connection busy past DB_POOL_TIMEOUT   | 503    | POOL_EXHAUSTED         |
| statement_timeout (57014)                           | 503    | DATABASE_TIMEOUT       |
| disk full, temp_file_limit (53100, 53400)           | 503    | STORAGE_FULL           |
| lock_timeout: row locked elsewhere (55P03)          | 409    | BUSY                   |
| deadlock / serialization failure (40P01, 40001)     | 409    | CONFLICT_RETRY         |

Raised inside a transaction, each of them means PostgreSQL rolled it back — and every
service is one transaction — so nothing was half-written and the request is safe to retry
(`retry_after`, sent as `Retry-After`). The one unknowable case, a connection lost during
COMMIT, is covered by the services' own 409s (ALREADY_APPROVED, DUPLICATE…) on a repeat.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from django.db import DatabaseError, InterfaceError, OperationalError
from django.utils.translation import gettext_lazy as _
from psycopg_pool import PoolTimeout

from acountee.db.pool import DatabaseUnreachable
from acountee.errors import AcounteeError, ConflictError, ServiceUnavailable


@dataclass(frozen=True)
class DatabaseFailure:
    error: AcounteeError
    retry_after: int


UNAVAILABLE = _("The database is unavailable. Please try again shortly.")
POOL_EXHAUSTED = _("The server is busy: every database connection is in use. Please try again shortly.")
TIMEOUT = _("The database took too long to answer. Please try again shortly.")
STORAGE_FULL = _(
    "The database has no space left to store this change. Nothing was saved; ask an administrator to free space."
)
BUSY = _("Someone else is changing this record right now. Nothing was saved; please try again.")
CONFLICT_RETRY = _("This change collided with another one at the same moment. Nothing was saved; please try again.")

STORAGE_FULL_STATES = frozenset({"53100", "53400"})


def _unavailable() -> DatabaseFailure:
    return DatabaseFailure(ServiceUnavailable(UNAVAILABLE, code="DATABASE_UNAVAILABLE"), retry_after=5)


def domain_error(exc: BaseException) -> DatabaseFailure | None:
    """The domain error a database failure maps to, or None when it is not one we expect."""
    if not isinstance(exc, DatabaseError | psycopg.Error):
        return None
    cause = exc if isinstance(exc, psycopg.Error) else exc.__cause__
    if isinstance(cause, DatabaseUnreachable):
        return _unavailable()
    if isinstance(cause, PoolTimeout):
        return DatabaseFailure(ServiceUnavailable(POOL_EXHAUSTED, code="POOL_EXHAUSTED"), retry_after=2)
    sqlstate = getattr(cause, "sqlstate", None) or ""
    if sqlstate == "55P03":
        return DatabaseFailure(ConflictError(BUSY, code="BUSY"), retry_after=1)
    if sqlstate in ("40P01", "40001"):
        return DatabaseFailure(ConflictError(CONFLICT_RETRY, code="CONFLICT_RETRY"), retry_after=1)
    if sqlstate == "57014":
        return DatabaseFailure(ServiceUnavailable(TIMEOUT, code="DATABASE_TIMEOUT"), retry_after=5)
    if sqlstate in STORAGE_FULL_STATES:
        return DatabaseFailure(ServiceUnavailable(STORAGE_FULL, code="STORAGE_FULL"), retry_after=60)
    if isinstance(exc, OperationalError | InterfaceError | psycopg.OperationalError | psycopg.InterfaceError):
        # Lost connection (no SQLSTATE), class 08, admin shutdown (57P0x), other class 53, I/O
        # errors (58): the server cannot do its job right now.
        return _unavailable()
    return None
