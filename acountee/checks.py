"""`check --deploy`: the role the application runs as must not be able to switch the audit
triggers off (docs/adr/0007-database-roles-and-keyed-audit.md)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Warning


def check_database_roles(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Warn when the runtime role (PGURI) is a superuser or owns tables. Says nothing when the
    database cannot be reached: start-up refuses that on its own (acountee/db/startup.py)."""
    from django.db import DatabaseError, connection

    from acountee.db.roles import role_facts

    try:
        name, superuser, owned = role_facts(connection)
    except DatabaseError:
        return []
    finally:
        connection.close()
    messages: list[CheckMessage] = []
    if superuser:
        messages.append(
            Warning(
                f"The application connects to PostgreSQL as '{name}', a superuser: it can disable the audit "
                "triggers and set session_replication_role.",
                hint="Make PGURI a role that owns nothing and is no superuser, and give the owner role to "
                "PGURI_OWNER for migrations (docs/operations.md, 'Database roles').",
                id="acountee.W001",
            )
        )
    if owned:
        shown = ", ".join(owned[:5]) + (f" and {len(owned) - 5} more" if len(owned) > 5 else "")
        messages.append(
            Warning(
                f"The application's database role '{name}' owns {len(owned)} table(s) ({shown}): it can "
                "disable their triggers, the audit triggers included.",
                hint="Run migrations as a separate owner role (PGURI_OWNER) and connect the application "
                "(PGURI) as a role with only SELECT/INSERT/UPDATE/DELETE (docs/operations.md, 'Database roles').",
                id="acountee.W002",
            )
        )
    return messages
