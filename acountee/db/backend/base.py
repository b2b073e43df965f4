"""Django's PostgreSQL backend with three additions (ENGINE = "acountee.db.backend").

Subclassing the built-in backend is Django's documented way to change one; this one overrides
only public backend methods and leaves the pool to Django, which builds psycopg's stock
`ConnectionPool` from `OPTIONS["pool"]` (acountee/settings.py):

- `get_new_connection` takes the pooled connection through `acountee.db.pool.guarded_getconn`:
  broken connections are dropped without sleeping and, while the server refuses connections,
  a request fails fast (503 DATABASE_UNAVAILABLE) instead of queueing for the pool timeout;
- `get_connection_params` starts the embedded server when the settings ask for it (no PGURI:
  acountee/db/embedded.py) and adds the audit chain key's HMAC pads as the session setting
  `acountee.audit_key`, sent in the start-up packet's options (acountee/db/audit_key.py): never stored in a
  table, never visible in `pg_stat_activity` or the statement log — except through PgBouncer
  (PGURI_POOLED), which refuses start-up options and sets both in its own `connect_query`;
- test databases are created, migrated and dropped with the owner role (`acountee.db.roles`).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.conf import settings
from django.db.backends.postgresql import base, creation

from acountee.db.pool import guarded_getconn, reachability


class DatabaseCreation(creation.DatabaseCreation):
    """Creates, migrates and drops the test database as the owner role (PGURI_OWNER), so the
    tests themselves run as the application's runtime role."""

    def create_test_db(self, *args: Any, **kwargs: Any) -> str:
        from acountee.db.roles import owner_connection

        with owner_connection(self.connection):
            return super().create_test_db(*args, **kwargs)

    def destroy_test_db(self, *args: Any, **kwargs: Any) -> None:
        from acountee.db.roles import owner_connection

        self.connection.close_pool()  # the runtime role's connections, before the owner drops the database
        with owner_connection(self.connection):
            super().destroy_test_db(*args, **kwargs)


class DatabaseWrapper(base.DatabaseWrapper):
    creation_class = DatabaseCreation

    def get_connection_params(self) -> dict[str, Any]:
        from acountee.db.embedded import ensure_embedded_server

        ensure_embedded_server()
        params = super().get_connection_params()
        if self.pooled():
            # PgBouncer (transaction mode) refuses start-up options: its `connect_query` sets the timeouts and
            # the audit key on each server connection instead (`manage.py pgbouncer_config`, docs/deployment.md).
            params.pop("options", None)
            return params
        key = getattr(settings, "AUDIT_CHAIN_KEY", "")
        if key:
            from acountee.db.audit_key import KEY_SETTING, key_pads

            params["options"] = f"{params.get('options', '')} -c {KEY_SETTING}={key_pads(key)}".strip()
        return params

    def pooled(self) -> bool:
        """Whether this connection goes through PgBouncer (PGURI_POOLED): the owner role's and PGURI_DIRECT's
        connections, which go to the primary itself, do not."""
        at = self.settings_dict.get("POOLED_AT") or []
        return bool(at) and [str(self.settings_dict["HOST"]), str(self.settings_dict["PORT"])] == list(at)

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        pool = self.pool
        if pool is None:
            return super().get_new_connection(conn_params)
        getconn = partial(super().get_new_connection, conn_params)
        return guarded_getconn(pool, reachability("", conn_params), getconn=getconn)
