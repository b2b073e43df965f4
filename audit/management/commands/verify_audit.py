"""`manage.py verify_audit [--full]`: verify the audit log's hash chain from the last verified
checkpoint (or everything with --full); exit 1 naming the broken entries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from audit.commands import SystemCommand
from audit.verification import PROBLEMS, verify_chain


class Command(SystemCommand):
    help = (
        "Recompute the audit log's hash chain from the last verified checkpoint (--full: all of it, archived "
        "months included); exit 1 and list the entries that do not match."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=100, help="List at most this many broken entries.")
        parser.add_argument(
            "--full",
            action="store_true",
            help="Verify every entry and seal (and every archived month's rows), not only those after the checkpoint.",
        )
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
        result = verify_chain(
            limit=max(1, options["limit"]), anchors=anchors, full=options["full"], record_checkpoint=True
        )
        seconds = max(result.seconds, 1e-6)
        scope = "full" if result.full else f"incremental from seal #{result.from_seq}"
        rate = (
            f"{scope}: {result.checked} entries, {result.seals_checked} seals, {result.archives} archived months in "
            f"{result.seconds:.2f} s ({result.checked / seconds:,.0f} entries/s, {result.seals_checked / seconds:,.0f} "
            "seals/s)"
        )
        if result.ok:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Audit log intact ({rate}); {result.seals} seals in the chain; "
                    f"head seal #{result.head_seq} checksum {result.head_checksum or '-'} "
                    "(keep it elsewhere: it proves today's log later)"
                )
            )
            return
        for entry in result.broken:
            seal = f" (seal #{entry.seal_seq})" if entry.seal_seq is not None else ""
            if entry.problem.startswith("anchor"):
                what = "Anchor"
            elif entry.problem.startswith("archive"):
                what = f"Archive {entry.detail}"
            elif entry.problem.startswith("checkpoint"):
                what = "Checkpoint"
            else:
                what = f"Broken audit entry id={entry.id}"
            self.stderr.write(f"{what}{seal}: {PROBLEMS[entry.problem]}")
        first = result.broken[0]
        named = f" {first.detail}" if first.detail else ""
        raise CommandError(
            f"Audit log tampered: first broken entry id={first.id} ({first.problem}{named}); "
            f"{len(result.broken)} listed; {rate}.",
            returncode=1,
        )
