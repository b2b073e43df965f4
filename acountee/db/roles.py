"""Two database roles: the owner (migrations, DDL) and the runtime role the app connects as.

- `PGURI` is the **runtime** role: web and worker processes connect with it. It should own no
  table and be no superuser, so it cannot disable triggers (`ALTER TABLE … DISABLE TRIGGER`
  needs ownership) or set `session_replication_role` (superuser only), and it holds only
  SELECT/INSERT/UPDATE/DELETE on tables and USAGE/SELECT on sequences — SELECT/INSERT only on
  the append-only logs.
- `PGURI_OWNER` is the **owner** role: `migrate`, `flush`, the test database's creation and
  the backup tool connect with it (`owner_connection`). After every migrate it grants the
  runtime role its privileges (`grant_runtime_privileges`, also as default privileges, so a
  table created later by hand is covered too).
- Only `PGURI` given (the legacy setup): one role does everything; `check --deploy` warns
  when that role is a superuser or owns the tables (`acountee.checks`).
- Neither (development, tests): the embedded server's superuser `postgres` owns the tables and
  the app connects as `acountee_app`, created by `acountee.db.embedded`.

docs/adr/0007-database-roles-and-keyed-audit.md says why.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from psycopg import sql

# Owner credentials copied over the runtime ones while `owner_connection` is active.
CREDENTIAL_KEYS = ("USER", "PASSWORD", "HOST", "PORT")
# The logs are append-only (triggers refuse UPDATE/DELETE/TRUNCATE): the runtime role is not
# even granted them. audit_seal_queue is written and emptied by the sealing trigger.
APPEND_ONLY_TABLES = ("audit", "audit_seals", "security_events")
_ACTIVE_ATTR = "_acountee_owner_depth"
_RUNTIME_USER_ATTR = "_acountee_runtime_user"


def owner_settings() -> dict[str, Any] | None:
    """The owner's credentials, or None when the runtime role is the owner (legacy PGURI only)."""
    from django.conf import settings

    from acountee.db.embedded import ensure_embedded_server

    ensure_embedded_server()  # the embedded server's socket and port, before they are copied
    return getattr(settings, "DATABASE_OWNER", None) or None


def runtime_user(connection: Any) -> str:
    """The role `connection` logs in as normally (also while `owner_connection` is active)."""
    return str(getattr(connection, _RUNTIME_USER_ATTR, None) or connection.settings_dict["USER"])


@contextmanager
def owner_connection(connection: Any) -> Iterator[Any]:
    """Run the block with `connection` logged in as the owner role (unpooled), then back.

    The connection is closed on the way in and out, so this cannot run inside a transaction.
    A no-op when there is no separate owner. Re-entrant (migrate inside test-database creation)."""
    owner = owner_settings()
    if not owner or getattr(connection, _ACTIVE_ATTR, 0):
        setattr(connection, _ACTIVE_ATTR, getattr(connection, _ACTIVE_ATTR, 0) + 1)
        try:
            yield connection
        finally:
            setattr(connection, _ACTIVE_ATTR, getattr(connection, _ACTIVE_ATTR) - 1)
        return
    if connection.in_atomic_block:
        raise RuntimeError("owner_connection() cannot switch roles inside a transaction")
    settings_dict = connection.settings_dict
    saved = {key: settings_dict.get(key) for key in CREDENTIAL_KEYS}
    saved_options = settings_dict["OPTIONS"]
    connection.close()
    setattr(connection, _RUNTIME_USER_ATTR, saved["USER"])
    settings_dict.update({key: owner[key] for key in CREDENTIAL_KEYS})
    # No pool: the pool is the runtime role's; this connection is opened and closed here.
    settings_dict["OPTIONS"] = {k: v for k, v in saved_options.items() if k != "pool"}
    setattr(connection, _ACTIVE_ATTR, 1)
    try:
        yield connection
    finally:
        setattr(connection, _ACTIVE_ATTR, 0)
        setattr(connection, _RUNTIME_USER_ATTR, None)
        connection.close()
        settings_dict.update(saved)
        settings_dict["OPTIONS"] = saved_options


def runtime_grants(role: str, append_only_present: list[str]) -> list[sql.Composed]:
    """The GRANT/REVOKE statements giving `role` exactly what the application needs, on every
    table and sequence of the schema now and, as default privileges of the role running them,
    on those created later. Idempotent."""
    ident = sql.Identifier(role)
    statements = [
        sql.SQL(text).format(role=ident)
        for text in (
            "GRANT USAGE ON SCHEMA public TO {role}",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
            "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}",
            # Never more than that: no TRUNCATE, REFERENCES or TRIGGER anywhere.
            "REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {role}",
        )
    ]
    if append_only_present:
        statements.append(
            sql.SQL("REVOKE UPDATE, DELETE ON {tables} FROM {role}").format(
                tables=sql.SQL(", ").join(sql.Identifier(t) for t in append_only_present), role=ident
            )
        )
    return statements


def grant_runtime_privileges(connection: Any) -> None:
    """`runtime_grants` for the configured runtime role, run by the owner after every migrate
    (and flush). Nothing to do without a separate owner."""
    if not owner_settings():
        return
    role = runtime_user(connection)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        if cursor.fetchone()[0] == role:
            return
        # The logs and, for a partitioned log (audit), every partition: a partition can be
        # written directly, and its privileges are its own.
        cursor.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relkind IN ('r', 'p') AND c.relname = ANY(%s)"
            " UNION SELECT p.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhparent"
            " JOIN pg_class p ON p.oid = i.inhrelid WHERE c.relname = ANY(%s) ORDER BY 1",
            [list(APPEND_ONLY_TABLES), list(APPEND_ONLY_TABLES)],
        )
        present = [row[0] for row in cursor.fetchall()]
        for statement in runtime_grants(role, present):
            cursor.execute(statement.as_string(connection.connection))


def on_post_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    from django.db import connections

    grant_runtime_privileges(connections[using])


def role_facts(connection: Any) -> tuple[str, bool, list[str]]:
    """(role name, is superuser, tables of the current database it owns)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
        name, superuser = cursor.fetchone()
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind IN ('r', 'p') AND pg_has_role(current_user, c.relowner, 'USAGE')"
            " AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'"
            " ORDER BY c.relname"
        )
        owned = [row[0] for row in cursor.fetchall()]
    return name, bool(superuser), owned
