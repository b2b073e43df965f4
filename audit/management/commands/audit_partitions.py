"""`manage.py audit_partitions [--ahead N]`: create the audit log's coming monthly partitions and
list them (docs/audit.md "Partitions")."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser
from django.db import connection

from acountee.db.roles import owner_connection
from audit.commands import SystemCommand
from audit.partitions import MONTHS_AHEAD, absorb_default, ensure_partitions, partitions


class Command(SystemCommand):
    help = "Create the audit log's partitions for this month and the next N; list the partitions."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--ahead", type=int, default=MONTHS_AHEAD, help="Months ahead (0..36).")
        parser.add_argument(
            "--absorb-default",
            action="store_true",
            help="Move the default partition's rows into their months' partitions (as the owner; locks the log).",
        )
        parser.add_argument("--count", action="store_true", help="Count rows exactly (slow on a large log).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["absorb_default"]:
            with owner_connection(connection):
                for name in absorb_default():
                    self.stdout.write(f"moved the default partition's rows of its month into {name}")
        made = ensure_partitions(options["ahead"])
        for name in made:
            self.stdout.write(f"created {name}")
        for part in partitions(exact=options["count"]):
            label = part.month.strftime("%Y-%m") if part.month else "default"
            self.stdout.write(f"{part.name:<16} {label:<8} {part.rows} rows")
            if part.month is None and part.rows:
                self.stderr.write(
                    f"{part.rows} entries are in {part.name}: a month had no partition when they were written "
                    "(audit_partitions --absorb-default moves them; docs/audit.md, 'Rows in the default partition')."
                )
