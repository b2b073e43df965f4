"""`manage.py audit_anchor --to PATH`: append the audit chain's head to a file outside the database.

Run it from cron (docs/operations.md) and keep the file where a database superuser cannot
write (another host, write-once storage); `verify_audit --anchors PATH` checks it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from audit.anchors import NothingToAnchor, record_anchor
from audit.commands import SystemCommand


class Command(SystemCommand):
    help = "Append the audit chain's head seal (position, checksum, keyed MAC) to a file outside the database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--to", required=True, type=Path, help="File to append the anchor line to.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            line = record_anchor(options["to"])
        except NothingToAnchor as exc:
            raise CommandError(f"Nothing anchored: {exc}.") from None
        except OSError as exc:
            raise CommandError(f"Cannot write the anchor to {options['to']}: {exc}") from None
        self.stdout.write(f"Anchored seal #{line['seq']} checksum {line['checksum']} to {options['to']}")
