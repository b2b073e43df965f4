"""Django's PostgreSQL backend, building its connection pool from `acountee.db.pool.AcounteePool`.

Django constructs `psycopg_pool.ConnectionPool` itself, with no hook for the class; this
property is Django 5.2's own, with the class swapped and our two pool options taken out
(`reconnect_max_delay`; the health check runs inside our pool, see its docstring).

Every connection also carries the audit chain key's HMAC pads as the session setting
`acountee.audit_key`, sent in the start-up packet's options (audit/chain.py): never stored in
a table, never visible in `pg_stat_activity` or the statement log. Test databases are created,
migrated and dropped with the owner role (`acountee.db.roles`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.postgresql import base, creation

from acountee.db.pool import AcounteePool

NO_DB_ALIAS = base.NO_DB_ALIAS


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
        params = super().get_connection_params()
        key = getattr(settings, "AUDIT_CHAIN_KEY", "")
        if key:
            from audit.chain import KEY_SETTING, key_pads

            params["options"] = f"{params.get('options', '')} -c {KEY_SETTING}={key_pads(key)}".strip()
        return params

    @property
    def pool(self) -> Any:
        pool_options = self.settings_dict["OPTIONS"].get("pool")
        if self.alias == NO_DB_ALIAS or not pool_options:
            return None
        if self.alias not in self._connection_pools:
            if self.settings_dict.get("CONN_MAX_AGE", 0) != 0:
                raise ImproperlyConfigured("Pooling doesn't support persistent connections.")
            options = dict(pool_options) if isinstance(pool_options, dict) else {}
            connect_kwargs = self.get_connection_params()
            # Django sets autocommit itself later on.
            connect_kwargs["autocommit"] = True
            pool = AcounteePool(
                kwargs=connect_kwargs,
                open=False,
                configure=self._configure_connection,
                health_check=bool(self.settings_dict["CONN_HEALTH_CHECKS"]),
                **options,
            )
            # As in Django: the first thread to build the pool wins.
            self._connection_pools.setdefault(self.alias, pool)
        return self._connection_pools[self.alias]
