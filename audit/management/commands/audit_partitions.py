"""`manage.py audit_partitions [--ahead N]`: create the audit log's coming monthly partitions and
list them (docs/audit.md "Partitions")."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from audit.commands import SystemCommand
from audit.partitions import MONTHS_AHEAD, ensure_partitions, partitions


class Command(SystemCommand):
    help = "Create the audit log's partitions for this month and the next N; list the partitions."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--ahead", type=int, default=MONTHS_AHEAD, help="Months ahead (0..36).")
        parser.add_argument("--count", action="store_true", help="Count rows exactly (slow on a large log).")

    def handle(self, *args: Any, **options: Any) -> None:
        made = ensure_partitions(options["ahead"])
        for name in made:
            self.stdout.write(f"created {name}")
        for part in partitions(exact=options["count"]):
            label = part.month.strftime("%Y-%m") if part.month else "default"
            self.stdout.write(f"{part.name:<16} {label:<8} {part.rows} rows")
            if part.month is None and part.rows:
                self.stderr.write(
                    f"{part.rows} entries are in {part.name}: a month had no partition when they were written "
                    "(see docs/audit.md, 'Rows in the default partition')."
                )
