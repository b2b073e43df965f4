"""Django's PostgreSQL backend, building its connection pool from `acountee.db.pool.AcounteePool`.

Django constructs `psycopg_pool.ConnectionPool` itself, with no hook for the class; this
property is Django 5.2's own, with the class swapped and our two pool options taken out
(`reconnect_max_delay`; the health check runs inside our pool, see its docstring).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.postgresql import base

from acountee.db.pool import AcounteePool

NO_DB_ALIAS = base.NO_DB_ALIAS


class DatabaseWrapper(base.DatabaseWrapper):
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
