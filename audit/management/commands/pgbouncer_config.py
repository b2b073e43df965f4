"""Print PgBouncer's `[databases]` entry for this installation (docs/deployment.md): the primary
(PGURI_DIRECT) and the `connect_query` that gives each server connection the timeouts and the audit chain
key the app cannot send through PgBouncer. The output holds the key's HMAC pads: write it to a file only
PgBouncer's user can read. Here, in the audit app, because the key it carries is the audit chain's."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError

from acountee.db.pgbouncer import database_line
from audit.commands import SystemCommand


class Command(SystemCommand):
    help = "Print PgBouncer's [databases] entry (primary and connect_query) for this installation."

    def handle(self, *args: Any, **options: Any) -> None:
        direct = getattr(settings, "DATABASE_DIRECT", None)
        if not direct:
            raise CommandError("PGURI_DIRECT (the primary PgBouncer connects to) is not set")
        name = settings.DATABASES["default"]["NAME"]
        self.stdout.write("[databases]")
        self.stdout.write(
            database_line(name=name, host=direct["HOST"] or "127.0.0.1", port=direct["PORT"] or 5432, dbname=name)
        )
