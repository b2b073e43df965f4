"""`flush` that can empty the append-only audit tables (tests' TransactionTestCase uses it).

The append-only triggers refuse TRUNCATE. Emptying the whole database is a deliberate act
of a table owner: it runs as the owner role (PGURI_OWNER; the runtime role may not truncate
or touch triggers), the triggers are disabled and re-enabled inside the same transaction (so a
crash leaves them enabled). Refused outright in production.

Why a replaced command (issue #21 looked for a public alternative): Django has no flush signal
or hook, the TRUNCATE must run as another role (which cannot be switched inside the transaction
`execute_sql_flush` opens), and an app shipping a command of the same name is Django's documented
way to override one. This subclass only wraps `super().handle()`: Django's flush does the work.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import CommandError
from django.core.management.commands import flush
from django.db import connections, transaction

from acountee.db.roles import owner_connection
from audit.commands import SystemActorMixin

GUARDED = (
    ("audit", "audit_no_truncate"),
    ("audit_seals", "audit_seals_no_truncate"),
    ("security_events", "security_events_no_truncate"),
)


class Command(SystemActorMixin, flush.Command):
    def handle(self, **options: Any) -> None:
        if getattr(settings, "PRODUCTION", False):
            raise CommandError("flush would erase the audit log; refused in production.")
        with owner_connection(connections[options["database"]]):
            return self._flush(**options)

    def _flush(self, **options: Any) -> None:
        connection = connections[options["database"]]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE tgname = ANY(%s)",
                [[name for _table, name in GUARDED]],
            )
            present = cursor.fetchall()
        if not present:
            return super().handle(**options)
        with transaction.atomic(using=options["database"]):
            with connection.cursor() as cursor:
                for table, name in present:
                    cursor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER "{name}"')
            super().handle(**options)
            with connection.cursor() as cursor:
                for table, name in present:
                    cursor.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER "{name}"')
        return None
