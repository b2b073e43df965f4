"""What PgBouncer (transaction mode) in front of the primary needs from us (docs/deployment.md).

PgBouncer refuses the start-up `options` the app sends a direct server (the timeouts and the audit chain key,
acountee/db/backend), so with PGURI_POOLED the app sends none and PgBouncer's `connect_query` sets the same
values, session-wide, on every server connection it opens. Transaction mode never resets a server connection
between clients (`server_reset_query_always = 0`, the default), so they hold for every transaction. The query
uses dollar quotes only: PgBouncer's configuration reads it inside single quotes."""

from __future__ import annotations

from typing import Any


def connect_query() -> str:
    from django.conf import settings

    from acountee.db.audit_key import KEY_SETTING, key_pads

    statements = [
        f"SET statement_timeout = {int(settings.DB_STATEMENT_TIMEOUT_MS)}",
        f"SET lock_timeout = {int(settings.DB_LOCK_TIMEOUT_MS)}",
        f"SET idle_in_transaction_session_timeout = {int(settings.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS)}",
        "SET timezone = $$UTC$$",
    ]
    key = getattr(settings, "AUDIT_CHAIN_KEY", "")
    if key:
        statements.append(f"SELECT set_config($${KEY_SETTING}$$, $${key_pads(key)}$$, false)")
    return "; ".join(statements)


def database_line(*, name: str, host: str, port: Any, dbname: str) -> str:
    """One entry of PgBouncer's `[databases]` section: `name` served by the primary at host:port."""
    return f"{name} = host={host} port={port} dbname={dbname} connect_query='{connect_query()}'"
