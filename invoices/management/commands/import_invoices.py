"""`manage.py import_invoices PATH…`: import e-invoice XML files and ZIP archives.

Prints one line per entry and a summary; exit status 1 when any entry failed. A directory
imports the .xml and .zip files under it. A progress bar is drawn only on a terminal.
"""

from __future__ import annotations

import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from django.core.management.base import CommandError, CommandParser
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from audit.commands import SystemCommand
from invoices.services import invoices_import

SYMBOLS = {"success": "OK  ", "skipped": "SKIP", "failure": "FAIL", "partial": "PART"}


class Command(SystemCommand):
    help = "Import Vietnamese e-invoices (XML files and ZIP archives of them)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", help="XML or ZIP files, or directories holding them")
        parser.add_argument("--user", help="e-mail of the user the import is recorded for (default: the command)")
        parser.add_argument("--no-progress", action="store_true", help="never draw the progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = None
        if options.get("user"):
            from accounts.models import User

            actor = User.objects.filter(email__iexact=options["user"], is_active=True).first()
            if actor is None:
                raise CommandError(_("No active user with e-mail %(email)s") % {"email": options["user"]})
        files, missing = self._collect(options["paths"])
        for path in missing:
            self.stdout.write(f"FAIL {path}: " + _("no such file"))
        total = sum(self._entry_count(path) for path in files)
        progress = None
        if sys.stderr.isatty() and not options["no_progress"] and total:
            progress = _ProgressBar(total, sys.stderr)
        report = invoices_import(uploads=_opened(files), actor=actor, progress=progress)
        if progress is not None:
            progress.close()
        for upload in report.uploads:
            if upload.kind == "zip":
                self.stdout.write(
                    f"{SYMBOLS[upload.result]} {upload.name}" + (f": {upload.reason}" if upload.reason else "")
                )
                for entry in upload.entries:
                    self.stdout.write(self._line(entry, prefix=f"  {upload.name}:"))
            else:
                for entry in upload.entries:
                    self.stdout.write(self._line(entry, prefix=""))
        counts = report.counts()
        failures = counts["failure"] + len(missing)
        summary = _("%(success)s imported, %(skipped)s skipped (duplicates), %(failure)s failed.") % {
            "success": number_format(counts["success"], force_grouping=True),
            "skipped": number_format(counts["skipped"], force_grouping=True),
            "failure": number_format(failures, force_grouping=True),
        }
        if failures:
            self.stdout.write(self.style.ERROR(summary))
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS(summary))

    @staticmethod
    def _line(entry: Any, prefix: str) -> str:
        where = (
            _(" → invoice #%(id)s") % {"id": entry.invoice_id} if entry.invoice_id and entry.result == "success" else ""
        )
        reason = f": {entry.reason}" if entry.reason else ""
        return f"{SYMBOLS[entry.result]} {prefix}{entry.name}{where}{reason}"

    @staticmethod
    def _collect(paths: list[str]) -> tuple[list[Path], list[str]]:
        files: list[Path] = []
        missing: list[str] = []
        for raw in paths:
            path = Path(raw)
            if path.is_dir():
                files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in {".xml", ".zip"}))
            elif path.is_file():
                files.append(path)
            else:
                missing.append(raw)
        return files, missing

    @staticmethod
    def _entry_count(path: Path) -> int:
        try:
            with zipfile.ZipFile(path) as archive:
                return sum(1 for info in archive.infolist() if not info.is_dir())
        except (zipfile.BadZipFile, OSError, ValueError):
            return 1


def _opened(files: list[Path]) -> Iterator[tuple[str, IO[bytes]]]:
    """One file open at a time (the importer consumes uploads in order)."""
    for path in files:
        with open(path, "rb") as handle:
            yield str(path), handle


class _ProgressBar:
    def __init__(self, total: int, stream: Any):
        self.total, self.done, self.stream = total, 0, stream

    def __call__(self, count: int) -> None:
        self.done = min(self.total, self.done + count)
        width = 40
        filled = int(width * self.done / self.total)
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()
