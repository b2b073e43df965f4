from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from django.db import connection

from audit.models import AuditEntry


def audit_mark() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def entries_since(mark: int, **filters: Any) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(id__gt=mark, **filters).order_by("id"))


def tables_with_audit_trigger() -> dict[str, str]:
    """table → the trigger's excluded-columns argument."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, encode(t.tgargs, 'escape')
              FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
             WHERE t.tgname = 'audit_row_change' AND NOT t.tgisinternal
            """
        )
        return {name: (args or "").replace("\\000", "") for name, args in cursor.fetchall()}


@contextmanager
def superuser_connection() -> Iterator[psycopg.Connection]:
    """A plain psycopg connection to the test database as a PostgreSQL superuser — what a DBA
    (or an intruder) with psql has: every privilege, but not AUDIT_CHAIN_KEY (no
    `acountee.audit_key` setting). Skips the test when no configured role is a superuser
    (two URIs, neither a superuser)."""
    from acountee.db.roles import owner_settings

    runtime = connection.settings_dict
    name = runtime["NAME"]
    candidates = [owner_settings(), {key: runtime[key] for key in ("USER", "PASSWORD", "HOST", "PORT")}]
    runtime_user = getattr(connection, "_acountee_runtime_user", None) or runtime["USER"]
    candidates[1]["USER"] = runtime_user
    for creds in candidates:
        if not creds:
            continue
        conn = psycopg.connect(
            host=creds.get("HOST") or None,
            port=creds.get("PORT") or None,
            user=creds["USER"] or None,
            password=creds.get("PASSWORD") or None,
            dbname=name,
            autocommit=True,
            connect_timeout=5,
        )
        if conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]:
            try:
                yield conn
            finally:
                conn.close()
            return
        conn.close()
    pytest.skip("no configured database role is a superuser")


def superuser_sql(sql: str, params: list | None = None) -> list[tuple]:
    """One statement (or several, `;`-separated, no params) as a superuser, committed."""
    with superuser_connection() as conn, conn.transaction():
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []
