"""Connections that need a session of their own — LISTEN for live updates (payments/live) and the workers'
wake-ups (payments/notifications) — go to the primary itself: through PgBouncer in transaction mode a session
is not kept, and a LISTEN there would hear nothing (docs/deployment.md). PGURI_DIRECT names the primary;
without it these use PGURI like everything else."""

from __future__ import annotations

from typing import Any


def session_connection_params() -> dict[str, Any]:
    """psycopg connection parameters of the default database, on PGURI_DIRECT's server when it is set."""
    from django.conf import settings
    from django.db import DEFAULT_DB_ALIAS, connections

    default = connections[DEFAULT_DB_ALIAS]
    direct = getattr(settings, "DATABASE_DIRECT", None)
    if not direct:
        return dict(default.get_connection_params())
    # The same backend and settings, another server: a wrapper that never connects, asked for its parameters.
    wrapper = type(default)({**default.settings_dict, **direct}, alias=DEFAULT_DB_ALIAS)
    return dict(wrapper.get_connection_params())
