"""`manage.py check_rollups [--repair] [--compact]`: compare the payables rollups with the raw
invoices and say where they differ (docs/reports.md "Rollups"); `--repair` rebuilds them from the
invoices, `--compact` folds each key's delta rows into one now instead of at the worker's next hourly
pass. Exits non-zero when a difference was found and not repaired."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from audit.commands import SystemCommand
from payments.reports.rollups import rollups_check, rollups_compact, rollups_rebuild

SHOWN = 50  # differences listed; the count says how many there are


class Command(SystemCommand):
    help = "Compare the payables rollups with the raw invoices; --repair rebuilds them, --compact folds them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repair", action="store_true", help="Rebuild the rollups from the invoices.")
        parser.add_argument("--compact", action="store_true", help="Fold each key's delta rows into one.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["compact"]:
            self.stdout.write(f"compacted: {rollups_compact()} rows folded")
        differences = rollups_check()
        for d in differences[:SHOWN]:
            key = ", ".join(str(part) for part in d.key)
            self.stdout.write(
                f"{d.table} ({key}): rollup {d.rollup[0]} invoices / {d.rollup[1]} VND,"
                f" invoices say {d.raw[0]} / {d.raw[1]}"
            )
        if not differences:
            self.stdout.write("the rollups agree with the invoices")
            return
        if not options["repair"]:
            raise CommandError(f"{len(differences)} rollup keys differ from the invoices (run with --repair)")
        rollups_rebuild()
        left = rollups_check()
        if left:
            raise CommandError(f"{len(left)} keys still differ after the rebuild")
        self.stdout.write(f"repaired: {len(differences)} keys rebuilt from the invoices; the rollups agree now")
