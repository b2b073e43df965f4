"""`manage.py verify_audit`: recompute every audit checksum; exit 1 naming the broken entries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from audit.commands import SystemCommand
from audit.verification import PROBLEMS, verify_chain


class Command(SystemCommand):
    help = "Recompute the audit log's hash chain; exit 1 and list the entries that do not match."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=100, help="List at most this many broken entries.")
        parser.add_argument(
            "--anchors",
            type=Path,
            default=None,
            help="A file written by audit_anchor: each anchored head must still be in the chain.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        anchors = options["anchors"]
        if anchors is not None and not anchors.is_file():
            raise CommandError(f"No anchor file at {anchors}.", returncode=2)
        result = verify_chain(limit=max(1, options["limit"]), anchors=anchors)
        if result.ok:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Audit log intact: {result.checked} entries and {result.seals} seals verified; "
                    f"head seal #{result.head_seq} checksum {result.head_checksum or '-'} "
                    "(keep it elsewhere: it proves today's log later)"
                )
            )
            return
        for entry in result.broken:
            seal = f" (seal #{entry.seal_seq})" if entry.seal_seq is not None else ""
            what = "Anchor" if entry.problem.startswith("anchor") else f"Broken audit entry id={entry.id}"
            self.stderr.write(f"{what}{seal}: {PROBLEMS[entry.problem]}")
        first = result.broken[0]
        raise CommandError(
            f"Audit log tampered: first broken entry id={first.id} ({first.problem}); "
            f"{len(result.broken)} listed, {result.checked} checked.",
            returncode=1,
        )
