"""Carry the actor from Python to the audit triggers, one transaction at a time.

A `connection.execute_wrapper` is installed on every database connection (through the
`connection_created` signal). Before a statement that can write (INSERT, UPDATE, DELETE,
MERGE, WITH, COPY, TRUNCATE, CALL, DO), it makes sure the transaction carries the current
actor in transaction-local settings:

    SELECT set_config('acountee.actor', …, true), set_config('acountee.actor_user_id', …, true), …

`is_local = true` means the values die with the transaction: a pooled connection can never
hand one request's actor to the next. The wrapper remembers what it set for the current
transaction, so a transaction of many writes pays for one `set_config` round trip only; a
new transaction (the connection is seen idle), a `ROLLBACK [TO SAVEPOINT]` or a different
actor makes it set again. A write in autocommit mode is wrapped in a short explicit
transaction (BEGIN; set_config; statement; COMMIT) so the settings reach its trigger.
Reads cost nothing. Writes with no known actor are left alone: the trigger records `unknown`.
"""

from __future__ import annotations

import contextvars
from typing import Any

from psycopg import pq

from audit import context

WRITE_WORDS = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "WITH", "COPY", "TRUNCATE", "CALL", "DO"})
SET_ACTOR_SQL = (
    "SELECT set_config('acountee.actor', %s, true), set_config('acountee.actor_user_id', %s, true),"
    " set_config('acountee.ip', %s, true), set_config('acountee.user_agent', %s, true)"
)
_STATE_ATTR = "_acountee_audit_actor"
_busy: contextvars.ContextVar[bool] = contextvars.ContextVar("acountee_audit_wrapper_busy", default=False)


def _first_word(sql: Any) -> str:
    if not isinstance(sql, str):
        return "WITH"  # a composed statement: assume it writes
    text = sql.lstrip(" \t\r\n(")
    end = 0
    for end, char in enumerate(text[:10]):  # noqa: B007 - `end` is used after the loop
        if not char.isalpha():
            break
    else:
        end = len(text[:10])
    return text[:end].upper()


def audit_actor_wrapper(execute: Any, sql: Any, params: Any, many: bool, ctx: dict[str, Any]) -> Any:
    if _busy.get():
        return execute(sql, params, many, ctx)
    db = ctx["connection"]
    raw = db.connection
    status = raw.info.transaction_status
    if status == pq.TransactionStatus.IDLE:
        # Whatever was set belonged to a finished transaction (even if this one begins with a
        # read, e.g. SELECT … FOR UPDATE, and writes later).
        setattr(db, _STATE_ATTR, None)
    word = _first_word(sql)
    if word == "ROLLBACK":
        # A rolled back savepoint takes the settings made inside it along.
        setattr(db, _STATE_ATTR, None)
        return execute(sql, params, many, ctx)
    if word not in WRITE_WORDS:
        return execute(sql, params, many, ctx)
    if status not in (pq.TransactionStatus.IDLE, pq.TransactionStatus.INTRANS):
        return execute(sql, params, many, ctx)  # failed transaction: the statement will fail anyway
    token = _busy.set(True)
    try:
        # May read the database (a lazy session user): those reads pass through untouched.
        wanted = context.current_actor().as_settings()
    finally:
        _busy.reset(token)
    applied = getattr(db, _STATE_ATTR, None)
    if wanted == applied or (applied is None and not any(wanted)):
        return execute(sql, params, many, ctx)
    cursor = ctx["cursor"]
    if status == pq.TransactionStatus.IDLE and raw.autocommit:
        with raw.transaction():
            cursor.execute(SET_ACTOR_SQL, wanted)
            return execute(sql, params, many, ctx)
    cursor.execute(SET_ACTOR_SQL, wanted)
    setattr(db, _STATE_ATTR, wanted)
    return execute(sql, params, many, ctx)


def install(sender: Any = None, connection: Any = None, **kwargs: Any) -> None:
    """`connection_created` receiver (also fine to call directly)."""
    if connection is None or connection.vendor != "postgresql":
        return
    if audit_actor_wrapper not in connection.execute_wrappers:
        connection.execute_wrappers.append(audit_actor_wrapper)
    setattr(connection, _STATE_ATTR, None)


def apply_actor(using: str = "default") -> None:
    """Put the current actor into the current transaction now.

    For writes that bypass `cursor.execute` (psycopg's `cursor.copy()` for COPY FROM STDIN):
    call it inside the `transaction.atomic()` block, before the COPY."""
    from django.db import connections

    db = connections[using]
    db.ensure_connection()
    wanted = context.current_actor().as_settings()
    if db.get_autocommit() or not any(wanted):
        return
    with db.cursor() as cursor:
        cursor.execute(SET_ACTOR_SQL, wanted)
    setattr(db, _STATE_ATTR, wanted)
