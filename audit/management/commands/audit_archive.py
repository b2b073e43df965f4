"""`manage.py audit_archive --before YYYY-MM [--drop]`: export the audit log's monthly partitions
before that month to the file store and detach them (audit/archive.py; docs/audit.md "Archive")."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import connection

from acountee.db.roles import owner_connection
from audit.archive import ArchiveRefused, archive_before
from audit.commands import SystemCommand


def month(value: str) -> date:
    try:
        year, mon = value.split("-")
        return date(int(year), int(mon), 1)
    except ValueError as exc:
        raise CommandError(f"--before takes YYYY-MM, not {value!r}") from exc


class Command(SystemCommand):
    help = "Archive the audit log's months before YYYY-MM to the file store, then detach (or drop) them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--before", type=month, required=True, help="First month kept live (YYYY-MM).")
        parser.add_argument("--drop", action="store_true", help="Drop each partition once archived and detached.")

    def handle(self, *args: Any, **options: Any) -> None:
        # DETACH/DROP need the tables' owner (PGURI_OWNER); a no-op switch without a separate owner.
        with owner_connection(connection):
            try:
                done = archive_before(options["before"], drop=options["drop"])
            except ArchiveRefused as exc:
                raise CommandError(str(exc), returncode=1) from exc
        for item in done:
            what = "dropped" if item.dropped else "detached"
            self.stdout.write(
                f"{item.partition}: {item.rows} entries → {item.storage_name} (sha256 {item.digest}); {what}"
            )
        if not done:
            self.stdout.write("Nothing to archive.")
