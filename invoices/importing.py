"""The invoice import pipeline (docs/invoices.md, "Import"), behind `invoices.services.invoices_import`.

Shape of the work, for speed and safety at once:

1. Every upload (an XML file or a ZIP archive) becomes a stream of *entries*. ZIP entries are
   checked before a byte is inflated (count, declared sizes, compression ratio, unsafe names,
   nested archives, non-XML names, encryption, symlinks) and read with a hard byte cap, so a
   lying header cannot inflate more than the per-file limit.
2. Entries are handled in batches (`INVOICE_IMPORT_BATCH_SIZE`). Per batch: hash every entry,
   ask the database once which hashes exist (a re-import stops here, nothing is parsed), parse
   the rest, ask once which business keys / tax-authority codes exist, then write the whole
   batch — source files, invoices, lines — with three `COPY` statements inside one
   transaction. Triggers (audit) and constraints run as for any insert.
3. Every entry is all-or-nothing: entries that fail to parse never reach the database, and if
   the batch write hits a constraint (a concurrent import of the same invoice) the batch is
   rolled back and replayed entry by entry, each in its own savepoint, so one conflict never
   blocks the others.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import io
import json
import operator
import queue
import stat
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.connection import apply_actor
from invoices.audit_actions import TABLE as AUDIT_TABLE
from invoices.audit_actions import InvoiceAction
from invoices.findings import finding_text
from invoices.models import Invoice, InvoiceStatus, PaymentType, RelatedKind, RelatedMatch
from invoices.parser import InvoiceParseError, ParsedInvoice, parse_invoice
from invoices.signals import invoices_imported
from invoices.signatures import (
    INVALID,
    SELLER,
    TAX_AUTHORITY,
    SignatureCheck,
    load_trust_store,
    signature_fields,
    verify_signatures,
)

SUCCESS, SKIPPED, FAILURE, PARTIAL = "success", "skipped", "failure", "partial"

NESTED_ARCHIVE_SUFFIXES = (".zip", ".rar", ".7z", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".zst", ".cab", ".jar")
ARCHIVE_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"Rar!", b"7z\xbc\xaf", b"\x1f\x8b", b"BZh", b"\xfd7zXZ")
RATIO_CHECK_MIN_BYTES = 64 * 1024
# Deadlock, serialization failure, lock timeout: two writers waited on each other's rows.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001", "55P03"})

# An invoice's business key (seller tax code, form, series, number) as `invoices` columns.
KEY_COLUMNS = ("seller_tax_code", "template_code", "series", "number_int")

# The original a correction names (docs/invoices.md, "Corrections"): same seller, same number, and the
# date, form and series where the correction gives them (real adjustments often give only the number).
# Every candidate per correction, so several are an "ambiguous" outcome rather than a guess.
MATCH_ORIGINALS_SQL = """
SELECT c.id, c.related_kind, array_remove(array_agg(o.id ORDER BY o.id), NULL)
FROM invoices c
LEFT JOIN invoices o
  ON o.seller_tax_code = c.seller_tax_code AND o.number_int = c.related_number_int AND o.id <> c.id
 AND (c.related_template_code = '' OR o.template_code = c.related_template_code)
 AND (c.related_series = '' OR upper(o.series) = upper(c.related_series))
 AND (c.related_issue_date IS NULL OR o.issue_date = c.related_issue_date)
WHERE c.id = ANY(%s) AND c.original_id IS NULL AND c.related_kind IS NOT NULL AND c.related_number_int IS NOT NULL
GROUP BY c.id, c.related_kind
ORDER BY c.id
"""
# Stored corrections still without their original that may name one of these (seller, number) pairs.
WAITING_CORRECTIONS_SQL = """
SELECT c.id FROM invoices c
JOIN unnest(%s::text[], %s::bigint[]) AS k(s, n) ON c.seller_tax_code = k.s AND c.related_number_int = k.n
WHERE c.related_kind IS NOT NULL AND c.original_id IS NULL
"""


def _grouped(number: int) -> str:
    """A count or a size in a message, grouped the reader's way (5.242.880 in Vietnamese, 5,242,880 in English)."""
    return number_format(number, force_grouping=True)


def _invoices_by_keys(
    cursor: Any, keys: list[tuple[str, str, str, int]], columns: tuple[str, ...], extra: str, *, where: str = ""
) -> list[tuple[Any, ...]]:
    """The invoices `i` whose `columns` equal one of `keys`, as rows of those columns then `extra`:
    one statement for any number of keys (`JOIN unnest(…)`, one array parameter per key part)."""
    select = ", ".join(f"i.{column}" for column in columns)
    on = " AND ".join(f"i.{column} = k.{alias}" for column, alias in zip(columns, "strn", strict=True))
    cursor.execute(
        f"SELECT {select}, {extra} FROM invoices i"  # noqa: S608 - columns and clauses are constants
        f" JOIN unnest(%s::text[], %s::text[], %s::text[], %s::bigint[]) AS k(s, t, r, n) ON {on}"
        + (f" WHERE {where}" if where else ""),
        [[key[part] for key in keys] for part in range(4)],
    )
    return cursor.fetchall()


# Parser refusals a user must act on, in the reader's language (the others name the element in English).
PARSE_ERROR_MESSAGES: dict[str, Any] = {
    "old_schema": gettext_lazy(
        "schema version %(version)s is the e-invoice format from before Decree 123/2020 (issue date in TDLap),"
        " which is not read: ask the seller for the invoice in the current format (2.0.0, 2.0.1 or 2.1.0)."
    ),
    "unknown_schema": gettext_lazy(
        "unknown schema version %(version)s (TTChung/PBan): only versions 2.0.0, 2.0.1 and 2.1.0 are read."
    ),
    "currency": gettext_lazy("TTChung/DVTTe: %(value)s is not a currency (a three-letter code such as VND or USD)."),
}


def parse_error_text(exc: InvoiceParseError) -> str:
    template = PARSE_ERROR_MESSAGES.get(exc.code)
    return str(template) % exc.params if template is not None else exc.message


def _sqlstate(exc: BaseException) -> str:
    cause = exc.__cause__
    return str(getattr(cause, "sqlstate", "") or "")


def configured_trust_store() -> Any:
    """The trusted roots signer certificates are checked against (INVOICE_SIGNATURE_TRUST_STORE), or None:
    chain trust not checked."""
    path = str(settings.INVOICE_SIGNATURE_TRUST_STORE or "")
    return load_trust_store(path) if path else None


def limit(name: str) -> int:
    return int(getattr(settings, name))


# --- results ----------------------------------------------------------------------------------


# Notes on an imported entry, said in the reader's language when the report is shown.
NOTE_MESSAGES: dict[str, Any] = {
    "original_linked": gettext_lazy("Linked to the original it corrects, invoice #%(original)s."),
    "original_not_found": gettext_lazy(
        "The original it corrects (number %(number)s) is not imported yet: it will be linked when it is."
    ),
    "original_ambiguous": gettext_lazy(
        "%(count)s invoices match the original it corrects (number %(number)s): not linked, check by hand."
    ),
    "original_from_line_text": gettext_lazy("The original it corrects was read from a line's text."),
    "is_original_of": gettext_lazy("Invoice #%(correction)s corrects this one and is now linked to it."),
    "seller_signature_invalid": gettext_lazy(
        "The seller's signature is INVALID (%(reason)s): it cannot be put in a payment request without an owner's"
        " override."
    ),
    "tax_authority_signature_invalid": gettext_lazy(
        "The tax authority's signature is INVALID (%(reason)s): it cannot be put in a payment request without an"
        " owner's override."
    ),
    "signer_not_seller": gettext_lazy(
        "The seller's signature was made with a certificate of tax code %(signer)s, not the seller's %(seller)s."
    ),
}


@dataclass(slots=True)
class EntryResult:
    name: str
    result: str = ""
    reason: str = ""
    invoice_id: int | None = None
    notes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)  # invoices.consistency, as stored
    currency: str = "VND"

    def note(self, code: str, **params: Any) -> None:
        self.notes.append((code, params))

    def finding_texts(self) -> list[str]:
        return [finding_text(finding, self.currency) for finding in self.findings]

    def note_texts(self) -> list[str]:
        from invoices.signature_texts import reason_text

        texts = []
        for code, params in self.notes:
            if "reason" in params:
                params = {**params, "reason": reason_text(params["reason"])}
            texts.append(str(NOTE_MESSAGES[code]) % params)
        return texts

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "result": self.result,
            "reason": self.reason,
            "invoice": self.invoice_id,
            "notes": self.note_texts(),
            "findings": [{**finding, "text": finding_text(finding, self.currency)} for finding in self.findings],
        }


@dataclass(slots=True)
class UploadResult:
    name: str
    kind: str  # "xml" or "zip"
    result: str = ""
    reason: str = ""
    entries: list[EntryResult] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts = {SUCCESS: 0, SKIPPED: 0, FAILURE: 0}
        for entry in self.entries:
            counts[entry.result] = counts.get(entry.result, 0) + 1
        return counts

    def finish(self) -> None:
        if self.result:  # refused as a whole
            return
        counts = self.counts()
        if not self.entries:
            self.result, self.reason = FAILURE, _("The archive holds no invoice file.")
        elif counts[FAILURE] == len(self.entries):
            self.result = FAILURE
        elif counts[FAILURE]:
            self.result = PARTIAL
        elif counts[SUCCESS]:
            self.result = SUCCESS
        else:
            self.result = SKIPPED
        if self.kind == "xml" and not self.reason and self.entries:
            self.reason = self.entries[0].reason

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "result": self.result,
            "reason": self.reason,
            "counts": self.counts(),
            "entries": [entry.as_dict() for entry in self.entries],
        }


@dataclass(slots=True)
class ImportReport:
    uploads: list[UploadResult] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        totals = {SUCCESS: 0, SKIPPED: 0, FAILURE: 0}
        for upload in self.uploads:
            if not upload.entries and upload.result == FAILURE:
                totals[FAILURE] += 1
            for key, value in upload.counts().items():
                totals[key] += value
        return totals

    @property
    def failed(self) -> bool:
        return any(upload.result in (FAILURE, PARTIAL) for upload in self.uploads)

    def entries(self) -> Iterator[tuple[UploadResult, EntryResult]]:
        for upload in self.uploads:
            for entry in upload.entries:
                yield upload, entry

    def as_dict(self) -> dict[str, Any]:
        return {"summary": self.counts(), "files": [upload.as_dict() for upload in self.uploads]}


@dataclass(slots=True)
class _Pending:
    result: EntryResult
    data: bytes
    sha256: str = ""
    parsed: ParsedInvoice | None = None
    invoice_id: int | None = None
    file_id: int | None = None
    signatures: dict[str, SignatureCheck] | None = None  # None: verification is off


# --- entries from uploads ---------------------------------------------------------------------


def _read_capped(stream: IO[bytes], cap: int) -> bytes:
    data = stream.read(cap + 1)
    return data if isinstance(data, bytes) else bytes(data)


def _looks_like_zip(name: str, head: bytes) -> bool:
    return head.startswith((b"PK\x03\x04", b"PK\x05\x06")) or name.lower().endswith(".zip")


def _entries(name: str, content: bytes | IO[bytes], upload: UploadResult) -> Iterator[_Pending]:
    """The candidate entries of one upload; entries refused outright are recorded as failures."""
    stream: IO[bytes] = io.BytesIO(content) if isinstance(content, bytes | bytearray | memoryview) else content
    with contextlib.suppress(AttributeError, OSError, ValueError):
        stream.seek(0)
    head = stream.read(8) or b""
    try:
        stream.seek(0)
    except (AttributeError, OSError, ValueError):
        rest = stream.read()
        stream = io.BytesIO(head + rest)
    if _looks_like_zip(name, head):
        upload.kind = "zip"
        yield from _zip_entries(stream, upload)
        return
    entry = EntryResult(name=name)
    upload.entries.append(entry)
    cap = limit("INVOICE_IMPORT_MAX_XML_BYTES")
    data = _read_capped(stream, cap)
    reason = _refuse_content(name, data, cap, in_archive=False)
    if reason:
        entry.result, entry.reason = FAILURE, reason
        return
    yield _Pending(result=entry, data=data)


def _refuse_content(name: str, data: bytes, cap: int, *, in_archive: bool) -> str:
    if len(data) > cap:
        return _("The file is larger than the limit of %(limit)s bytes.") % {"limit": _grouped(cap)}
    if not data.strip():
        return _("The file is empty.")
    if data.startswith(ARCHIVE_MAGICS):
        if not in_archive:
            return _("Not an XML file or ZIP archive: only e-invoice XML files and ZIP archives can be imported.")
        return _("Nested archives are not opened: only XML files are imported from an archive.")
    body = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not body.startswith(b"<") and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _("Not an XML file: only e-invoice XML files (and ZIP archives of them) can be imported.")
    return ""


def _unsafe_name(name: str) -> bool:
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or (len(normalized) > 1 and normalized[1] == ":"):
        return True
    return any(part == ".." for part in normalized.split("/")) or "\x00" in name


def _ignorable(name: str) -> bool:
    """Directory entries and the Finder's metadata twins are not invoices and not errors."""
    normalized = name.replace("\\", "/")
    base = normalized.rsplit("/", 1)[-1]
    return normalized.endswith("/") or normalized.startswith("__MACOSX/") or base in {".DS_Store", "Thumbs.db"}


def _zip_entries(stream: IO[bytes], upload: UploadResult) -> Iterator[_Pending]:
    try:
        archive = zipfile.ZipFile(stream)
        infos = [info for info in archive.infolist() if not _ignorable(info.filename)]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        upload.result = FAILURE
        upload.reason = _("Not a valid ZIP archive (%(error)s).") % {"error": str(exc)[:200]}
        return
    max_entries = limit("INVOICE_IMPORT_MAX_ZIP_ENTRIES")
    max_total = limit("INVOICE_IMPORT_MAX_ZIP_EXPANDED_BYTES")
    if len(infos) > max_entries:
        upload.result = FAILURE
        upload.reason = _("The archive holds %(count)s files, over the limit of %(limit)s.") % {
            "count": _grouped(len(infos)),
            "limit": _grouped(max_entries),
        }
        return
    declared_total = sum(info.file_size for info in infos)
    if declared_total > max_total:
        upload.result = FAILURE
        upload.reason = _("The archive expands to %(size)s bytes, over the limit of %(limit)s.") % {
            "size": _grouped(declared_total),
            "limit": _grouped(max_total),
        }
        return
    cap = limit("INVOICE_IMPORT_MAX_XML_BYTES")
    max_ratio = limit("INVOICE_IMPORT_MAX_COMPRESSION_RATIO")
    expanded = 0
    with archive:
        for info in infos:
            entry = EntryResult(name=info.filename[:500])
            upload.entries.append(entry)
            reason = _zip_entry_refusal(info, cap, max_ratio)
            if not reason and expanded >= max_total:
                reason = _("The archive expands beyond the limit of %(limit)s bytes.") % {"limit": _grouped(max_total)}
            if reason:
                entry.result, entry.reason = FAILURE, reason
                continue
            try:
                with archive.open(info) as member:
                    data = _read_capped(member, min(cap, max_total - expanded))
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError) as exc:
                entry.result = FAILURE
                entry.reason = _("The archive entry cannot be read (%(error)s).") % {"error": str(exc)[:200]}
                continue
            expanded += len(data)
            reason = _refuse_content(info.filename, data, cap, in_archive=True)
            if reason:
                entry.result, entry.reason = FAILURE, reason
                continue
            yield _Pending(result=entry, data=data)


def _zip_entry_refusal(info: zipfile.ZipInfo, cap: int, max_ratio: int) -> str:
    name = info.filename
    if _unsafe_name(name):
        return _("Unsafe path in the archive (absolute or with '..'): not extracted.")
    if info.flag_bits & 0x1:
        return _("Encrypted archive entries are not supported.")
    mode = info.external_attr >> 16
    if mode and stat.S_ISLNK(mode):
        return _("Symbolic links in archives are not followed.")
    lower = name.lower()
    if lower.endswith(NESTED_ARCHIVE_SUFFIXES):
        return _("Nested archives are not opened: only XML files are imported from an archive.")
    if not lower.endswith(".xml"):
        return _("Not an XML file: only .xml entries are imported from an archive.")
    if info.file_size > cap:
        return _("The file is larger than the limit of %(limit)s bytes.") % {"limit": _grouped(cap)}
    if (
        info.file_size > RATIO_CHECK_MIN_BYTES
        and info.compress_size > 0
        and info.file_size / info.compress_size > max_ratio
    ):
        return _("Suspicious compression ratio (%(ratio)s:1, limit %(limit)s:1): not expanded.") % {
            "ratio": int(info.file_size / info.compress_size),
            "limit": max_ratio,
        }
    return ""


# --- batches ----------------------------------------------------------------------------------


class Importer:
    """One import call. `run(uploads)` returns the report; `progress(n)` is told after every
    processed entry count (for the command's progress bar)."""

    def __init__(self, *, actor: Any, progress: Callable[[int], None] | None = None):
        self.actor = actor
        self.actor_id = getattr(actor, "pk", None)
        self.progress = progress
        self.batch_size = limit("INVOICE_IMPORT_BATCH_SIZE")
        self.company_tax_code = "".join(str(getattr(settings, "COMPANY_TAX_CODE", "") or "").split())
        self.verify = bool(settings.INVOICE_VERIFY_SIGNATURES)
        self.trust_store = configured_trust_store() if self.verify else None

    def run(self, uploads: Iterable[tuple[str, bytes | IO[bytes]]]) -> ImportReport:
        report = ImportReport()
        writer = _Writers(self) if self._threaded() else None
        try:
            for name, content in uploads:
                upload = UploadResult(name=str(name)[:500], kind="xml")
                report.uploads.append(upload)
                self.seen_hashes: set[str] = set()
                pending: list[_Pending] = []
                done = 0
                for item in _entries(upload.name, content, upload):
                    pending.append(item)
                    if len(pending) >= self.batch_size:
                        self._dispatch(self._prepare(pending), writer)
                        pending = []
                        done = self._tick(upload, done)
                if pending:
                    self._dispatch(self._prepare(pending), writer)
                if writer is not None:
                    writer.join()
                    self._reconcile(upload)
                self._tick(upload, done)
                upload.finish()
                self._audit(upload)
        finally:
            if writer is not None:
                writer.close()
        return report

    def _threaded(self) -> bool:
        # Inside a transaction (tests, an atomic caller) other connections could not see its
        # rows and their commits would escape it: then everything runs on this connection.
        return limit("INVOICE_IMPORT_WRITERS") > 0 and not connection.in_atomic_block

    def _dispatch(self, parsed: list[_Pending], writer: _Writers | None) -> None:
        if not parsed:
            return
        if writer is None:
            self._store(parsed)
        else:
            writer.submit(parsed)

    def _tick(self, upload: UploadResult, done: int) -> int:
        now = len(upload.entries)
        if self.progress is not None and now > done:
            self.progress(now - done)
        if settings.DEBUG and not connection.force_debug_cursor:
            connection.queries_log.clear()  # DEBUG keeps every statement: not for 10,000 invoices
        return now

    def _audit(self, upload: UploadResult) -> None:
        from audit.services import audit_log

        counts = upload.counts()
        with transaction.atomic():
            audit_log(
                action=InvoiceAction.IMPORT,
                table=AUDIT_TABLE,
                record_id="",
                actor=self.actor,
                metadata={
                    "file": upload.name,
                    "kind": upload.kind,
                    "result": upload.result,
                    "reason": upload.reason,
                    **counts,
                    "invoices": [e.invoice_id for e in upload.entries if e.result == SUCCESS][:1000],
                },
            )

    # --- one batch: prepared here (hash, known files, parse), stored by `_store`

    def _prepare(self, pending: list[_Pending]) -> list[_Pending]:
        for item in pending:
            item.sha256 = hashlib.sha256(item.data).hexdigest()
        existing = dict(
            Invoice.objects.filter(content_hash__in={item.sha256 for item in pending}).values_list("content_hash", "id")
        )
        fresh: list[_Pending] = []
        for item in pending:
            if item.sha256 in existing:
                pk = existing[item.sha256]
                self._skip(item, _("Already imported: the same file is invoice #%(id)s.") % {"id": pk}, pk)
            elif item.sha256 in self.seen_hashes:
                self._skip(item, _("The same file appears earlier in this upload."), None)
            else:
                self.seen_hashes.add(item.sha256)
                fresh.append(item)
        cap = limit("INVOICE_IMPORT_MAX_XML_BYTES")
        parsed: list[_Pending] = []
        for item in fresh:
            try:
                item.parsed = parse_invoice(item.data, max_bytes=cap)
            except InvoiceParseError as exc:
                item.result.result, item.result.reason = (
                    FAILURE,
                    _("Invalid e-invoice: %(reason)s") % {"reason": parse_error_text(exc)},
                )
                item.data = b""
                continue
            if self.verify:
                item.signatures = verify_signatures(
                    item.data,
                    seller_tax_code=item.parsed.seller.tax_code,
                    issue_date=item.parsed.issue_date,
                    trust_store=self.trust_store,
                )
            parsed.append(item)
        return parsed

    def _store(self, parsed: list[_Pending]) -> None:
        parsed = self._drop_known_invoices(parsed)
        if not parsed:
            return
        try:
            with transaction.atomic():
                self._write(parsed)
        except (IntegrityError, OperationalError) as exc:
            if isinstance(exc, OperationalError) and _sqlstate(exc) not in RETRYABLE_SQLSTATES:
                raise  # the database is unavailable: not something one entry at a time fixes
            # A concurrent import (or our other writer) stored one of these meanwhile, or
            # the two waited on each other: replay entry by entry, each in its own savepoint.
            for item in parsed:
                item.invoice_id = item.file_id = None
                self._write_one(item)
        else:
            for item in parsed:
                self._succeed(item)

    def _skip(self, item: _Pending, reason: str, invoice_id: int | None) -> None:
        item.result.result, item.result.reason, item.result.invoice_id = SKIPPED, reason, invoice_id
        item.data = b""

    def _succeed(self, item: _Pending) -> None:
        item.result.result, item.result.invoice_id = SUCCESS, item.invoice_id
        item.result.reason = ""
        if item.parsed is not None:
            item.result.findings = [finding.as_json() for finding in item.parsed.findings]
            item.result.currency = item.parsed.currency
        checks = item.signatures or {}
        for party in (SELLER, TAX_AUTHORITY):
            check = checks.get(party)
            if check is not None and check.status == INVALID:
                item.result.note(f"{party}_signature_invalid", reason=check.code)
        seller_check = checks.get(SELLER)
        if seller_check is not None and seller_check.tax_code_matches is False and item.parsed is not None:
            item.result.note(
                "signer_not_seller", signer=seller_check.tax_code or "—", seller=item.parsed.seller.tax_code
            )
        item.data = b""
        item.parsed = None
        item.signatures = None

    def _write_one(self, item: _Pending) -> None:
        try:
            with transaction.atomic():
                self._write([item])
        except IntegrityError:
            item.result.notes.clear()
            if self._drop_known_invoices([item]):  # not a duplicate after all
                item.result.result = FAILURE
                item.result.reason = _("The invoice conflicts with one already stored.")
                item.data = b""
            return
        except DatabaseError as exc:
            if isinstance(exc, OperationalError | InterfaceError) and _sqlstate(exc) not in RETRYABLE_SQLSTATES:
                raise  # the database is unavailable (503), not this entry's fault
            item.result.result = FAILURE
            item.result.reason = _("The database refused the invoice: %(error)s") % {"error": str(exc)[:200]}
            item.data = b""
            return
        self._succeed(item)

    def _drop_known_invoices(self, items: list[_Pending]) -> list[_Pending]:
        """Skips entries whose business key or tax-authority code is already stored (one query
        each) or appears earlier in the batch."""
        keys = [self._key(item.parsed) for item in items]
        codes = [item.parsed.tax_authority_code for item in items if item.parsed.tax_authority_code]
        by_key: dict[tuple[str, str, str, int], int] = {}
        by_code: dict[str, int] = {}
        with connection.cursor() as cursor:
            for seller, template, series, number, pk in _invoices_by_keys(cursor, keys, KEY_COLUMNS, "i.id"):
                by_key[(seller, template, series, number)] = pk
            if codes:
                # `<> ''` repeats the unique index's predicate (invoices_mccqt_unique is partial: invoices without
                # a tax-authority code share ''), so the planner may use it; without it every import read the
                # whole table (0.5 s per 500 invoices at 1,000,000).
                cursor.execute(
                    "SELECT tax_authority_code, id FROM invoices WHERE tax_authority_code = ANY(%s)"
                    " AND tax_authority_code <> ''",
                    [codes],
                )
                by_code = dict(cursor.fetchall())
        kept: list[_Pending] = []
        seen_keys: set[tuple[str, str, str, int]] = set()
        seen_codes: set[str] = set()
        for item, key in zip(items, keys, strict=True):
            code = item.parsed.tax_authority_code
            if key in by_key:
                self._skip(
                    item,
                    _("Already imported: the same invoice (seller, form, series, number) is #%(id)s.")
                    % {"id": by_key[key]},
                    by_key[key],
                )
            elif code and code in by_code:
                self._skip(
                    item,
                    _("Already imported: the same tax-authority code is invoice #%(id)s.") % {"id": by_code[code]},
                    by_code[code],
                )
            elif key in seen_keys or (code and code in seen_codes):
                self._skip(item, _("The same invoice appears earlier in this upload."), None)
            else:
                seen_keys.add(key)
                if code:
                    seen_codes.add(code)
                kept.append(item)
        return kept

    @staticmethod
    def _key(parsed: ParsedInvoice) -> tuple[str, str, str, int]:
        return (parsed.seller.tax_code, parsed.form, parsed.series, parsed.number_int)

    # --- the write

    def _write(self, items: list[_Pending]) -> None:
        now = timezone.now()
        self._write_files(items)
        # COPY goes straight to psycopg: wrap its errors into Django's (IntegrityError, …).
        with connection.wrap_database_errors, connection.cursor() as cursor:
            apply_actor()  # COPY bypasses Django's execute wrappers, which carry the actor
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence('invoices', 'id')) FROM generate_series(1, %s)", [len(items)]
            )
            for item, (pk,) in zip(items, cursor.fetchall(), strict=True):
                item.invoice_id = pk
            with cursor.copy(f"COPY invoices ({', '.join(INVOICE_COLUMNS)}) FROM STDIN") as copy:
                for item in items:
                    copy.write_row(_invoice_values(self._invoice_row(item, now)))
            with cursor.copy(f"COPY invoice_services ({', '.join(LINE_COLUMNS)}) FROM STDIN") as copy:
                for item in items:
                    for line in item.parsed.lines:
                        copy.write_row(_line_row(item.invoice_id, line))
            entries: dict[int, EntryResult] = {}
            corrections: list[int] = []
            pairs: list[tuple[str, int]] = []
            for item in items:
                parsed, pk = _parsed(item), item.invoice_id
                assert pk is not None  # allocated above
                entries[pk] = item.result
                item.result.notes.clear()  # a batch replayed entry by entry notes again
                pairs.append((parsed.seller.tax_code, parsed.number_int))
                if parsed.related and parsed.related.number_int is not None:
                    corrections.append(pk)
                    if parsed.related.from_line_text:
                        item.result.note("original_from_line_text")
            link_corrections(cursor, corrections, pairs, entries)
        # Same transaction as the batch: what receivers record rolls back with it (invoices/signals.py).
        invoices_imported.send(sender=Invoice, invoice_ids=[item.invoice_id for item in items])

    def _write_files(self, items: list[_Pending]) -> None:
        """The batch's source files, through the file store's batch writer."""
        from files.services import stored_files_create_many

        ids = stored_files_create_many(
            files=[(item.data, item.result.name) for item in items], created_by_id=self.actor_id
        )
        for item, file_id in zip(items, ids, strict=True):
            item.file_id = file_id

    def _invoice_row(self, item: _Pending, now: Any) -> dict[str, Any]:
        """One `invoices` row by column name (INVOICE_COLUMNS names them all; tests compare them to the model).
        Corrections are linked to their originals once the rows are in (`link_corrections`)."""
        p = _parsed(item)
        seller, buyer, rel = p.seller, p.buyer, p.related
        status = InvoiceStatus.IMPORTED.value
        if seller.bank_account:
            payment_type = PaymentType.BANK_TRANSFER.value
        elif p.payment_method_text.strip().upper() == "TM":
            payment_type = PaymentType.CASH.value
        else:
            payment_type = ""
        return {
            "id": item.invoice_id,
            "schema_version": p.schema_version,
            "title": p.title,
            "template_code": p.form,
            "series": p.series,
            "number": p.number,
            "number_int": p.number_int,
            "issue_date": p.issue_date,
            "currency": p.currency,
            "currency_as_written": p.currency_as_written,
            "exchange_rate": p.exchange_rate,
            "payment_method_text": p.payment_method_text,
            "issuer_tax_code": p.issuer_tax_code,
            "tax_authority_code": p.tax_authority_code,
            "related_kind": rel.kind if rel and rel.kind in RelatedKind.values else None,
            "related_template_code": rel.form if rel else "",
            "related_series": rel.series if rel else "",
            "related_number": rel.number if rel else "",
            "related_number_int": rel.number_int if rel else None,
            "related_issue_date": rel.issue_date if rel else None,
            "related_note": rel.note if rel else "",
            "related_from_line_text": bool(rel and rel.from_line_text),
            "related_match": RelatedMatch.NOT_FOUND.value if rel and rel.number_int is not None else "",
            "original_id": None,
            "seller_name": seller.name,
            "seller_tax_code": seller.tax_code,
            "seller_address": seller.address,
            "seller_bank_account": seller.bank_account,
            "seller_bank_name": seller.bank_name,
            "seller_phone": seller.phone,
            "seller_email": seller.email,
            "buyer_name": buyer.name,
            "buyer_tax_code": buyer.tax_code,
            "buyer_address": buyer.address,
            "total_before_tax": p.total_before_tax,
            "total_tax": p.total_tax,
            "trade_discount": p.trade_discount,
            "other_fees": p.other_fees,
            "total_payable": p.total_payable,
            "total_in_words": p.total_in_words,
            "rate_summaries": json.dumps([_summary_json(s) for s in p.rate_summaries], ensure_ascii=False),
            "extras": json.dumps(_invoice_extras(p), ensure_ascii=False),
            "consistency_findings": json.dumps([f.as_json() for f in p.findings]),
            **_signature_columns(item.signatures),
            "status": status,
            "content_hash": item.sha256,
            "source_file_id": item.file_id,
            "buyer_tax_code_mismatch": self._buyer_mismatch(buyer.tax_code),
            "superseded_while_linked": False,
            "payment_type": payment_type,
            "payment_bank_name": seller.bank_name if seller.bank_account else "",
            "payment_bank_account": seller.bank_account,
            "payment_account_name": seller.name if seller.bank_account else "",
            "imported_by_id": self.actor_id,
            "created_at": now,
            "updated_at": now,
        }

    def _buyer_mismatch(self, buyer_tax_code: str) -> bool:
        ours = self.company_tax_code
        if not ours:
            return False
        theirs = "".join(buyer_tax_code.split())
        return not (theirs == ours or theirs.startswith(ours + "-"))

    def _reconcile(self, upload: UploadResult) -> None:
        """Corrections and originals of one upload stored by different writers at the same
        time could not see each other: link what is still unlinked now that all is committed."""
        entries = {e.invoice_id: e for e in upload.entries if e.result == SUCCESS and e.invoice_id}
        if not entries:
            return
        rows = Invoice.objects.filter(pk__in=list(entries)).values_list(
            "pk", "seller_tax_code", "number_int", "related_kind", "original_id"
        )
        corrections: list[int] = []
        pairs: list[tuple[str, int]] = []
        for pk, seller, number, kind, original in rows:
            pairs.append((seller, number))
            if kind is not None and original is None:
                corrections.append(pk)
        with transaction.atomic(), connection.cursor() as cursor:
            link_corrections(cursor, corrections, pairs, entries, renote=False)


def link_corrections(
    cursor: Any,
    correction_ids: list[int],
    pairs: list[tuple[str, int]],
    entries: dict[int, EntryResult],
    *,
    renote: bool = True,
) -> None:
    """Links corrections to the originals they name, whichever arrived first: `correction_ids` (just
    stored) and every stored correction still waiting for one of `pairs` (seller tax code, number) just
    stored. One match links (a replacement then supersedes its original), several are `ambiguous`, none
    waits (`not_found`). A link once made stays. Notes go on the entries of this import (`entries`)."""
    waiting: list[int] = []
    if pairs:
        cursor.execute(WAITING_CORRECTIONS_SQL, [[seller for seller, _n in pairs], [n for _s, n in pairs]])
        waiting = [pk for (pk,) in cursor.fetchall()]
    ids = sorted(set(correction_ids) | set(waiting))
    if not ids:
        return
    cursor.execute(MATCH_ORIGINALS_SQL, [ids])
    replaced: list[int] = []
    now = timezone.now()
    for correction_id, kind, candidates in cursor.fetchall():
        entry = entries.get(correction_id)
        if len(candidates) == 1:
            original = candidates[0]
            Invoice.objects.filter(pk=correction_id, original__isnull=True).update(
                original_id=original, related_match=RelatedMatch.LINKED, updated_at=now
            )
            if kind == RelatedKind.REPLACEMENT:
                replaced.append(original)
            if entry is not None:
                entry.notes = [note for note in entry.notes if note[0] != "original_not_found"]
                entry.note("original_linked", original=original)
            if original in entries and entries[original] is not entry:
                entries[original].note("is_original_of", correction=correction_id)
        elif candidates:
            Invoice.objects.filter(pk=correction_id).update(related_match=RelatedMatch.AMBIGUOUS, updated_at=now)
            if entry is not None and renote:
                number = Invoice.objects.filter(pk=correction_id).values_list("related_number", flat=True).first()
                entry.note("original_ambiguous", count=len(candidates), number=number)
        elif entry is not None and renote:
            number = Invoice.objects.filter(pk=correction_id).values_list("related_number", flat=True).first()
            entry.note("original_not_found", number=number)
    if replaced:
        _supersede(replaced)


def _signature_columns(checks: dict[str, SignatureCheck] | None) -> dict[str, Any]:
    """The invoice's authenticity columns from the import's signature checks (None: not checked), as COPY
    values; a fresh import carries no override."""
    fields = signature_fields(checks)
    return {
        **fields,
        "signature_details": json.dumps(fields["signature_details"], ensure_ascii=False),
        "signature_override_reason": "",
        "signature_override_by_id": None,
        "signature_override_at": None,
    }


def _parsed(item: _Pending) -> ParsedInvoice:
    """The entry's invoice: only parsed entries reach the write."""
    assert item.parsed is not None
    return item.parsed


def _supersede(original_ids: list[int]) -> None:
    """Replaced invoices become obsolete; one already in a PR or completed is flagged instead."""
    from invoices.services import invoice_ids_linked

    rows = list(Invoice.objects.select_for_update().filter(pk__in=original_ids).values_list("pk", "status"))
    linked = invoice_ids_linked([pk for pk, _status in rows])
    for pk, status in rows:
        if status == InvoiceStatus.IMPORTED and pk not in linked:
            Invoice.objects.filter(pk=pk).update(status=InvoiceStatus.REDUNDANT, updated_at=timezone.now())
        elif status in (InvoiceStatus.IMPORTED, InvoiceStatus.COMPLETED):
            Invoice.objects.filter(pk=pk).update(superseded_while_linked=True, updated_at=timezone.now())


class _Writers:
    """Writer threads, each with its own database connection: while one batch is written
    (and its audit rows sealed at commit), the next is parsed and another can be written."""

    def __init__(self, importer: Importer):
        self.importer = importer
        count = limit("INVOICE_IMPORT_WRITERS")
        self.queue: queue.Queue[list[_Pending] | None] = queue.Queue(maxsize=count * 2)
        self.error: BaseException | None = None
        self.threads = []
        for index in range(count):
            context = contextvars.copy_context()  # the actor (request / acting_as) goes along
            thread = threading.Thread(
                target=context.run, args=(self._loop,), name=f"invoice-writer-{index}", daemon=True
            )
            thread.start()
            self.threads.append(thread)

    def submit(self, batch: list[_Pending]) -> None:
        self._raise()
        self.queue.put(batch)

    def join(self) -> None:
        self.queue.join()
        self._raise()

    def close(self) -> None:
        for _thread in self.threads:
            self.queue.put(None)
        for thread in self.threads:
            thread.join()

    def _raise(self) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def _loop(self) -> None:
        try:
            while True:
                batch = self.queue.get()
                try:
                    if batch is None:
                        return
                    if self.error is None:
                        self.importer._store(batch)
                except BaseException as exc:
                    self.error = exc
                finally:
                    self.queue.task_done()
        finally:
            connection.close()  # this thread's connection (back to the pool)


INVOICE_COLUMNS = (
    "id",
    "schema_version",
    "title",
    "template_code",
    "series",
    "number",
    "number_int",
    "issue_date",
    "currency",
    "currency_as_written",
    "exchange_rate",
    "payment_method_text",
    "issuer_tax_code",
    "tax_authority_code",
    "related_kind",
    "related_template_code",
    "related_series",
    "related_number",
    "related_number_int",
    "related_issue_date",
    "related_note",
    "related_from_line_text",
    "related_match",
    "original_id",
    "seller_name",
    "seller_tax_code",
    "seller_address",
    "seller_bank_account",
    "seller_bank_name",
    "seller_phone",
    "seller_email",
    "buyer_name",
    "buyer_tax_code",
    "buyer_address",
    "total_before_tax",
    "total_tax",
    "trade_discount",
    "other_fees",
    "total_payable",
    "total_in_words",
    "rate_summaries",
    "extras",
    "consistency_findings",
    "status",
    "content_hash",
    "source_file_id",
    "buyer_tax_code_mismatch",
    "superseded_while_linked",
    "seller_signature",
    "tax_authority_signature",
    "signature_details",
    "seller_certificate_tax_code",
    "seller_certificate_matches",
    "signature_override_reason",
    "signature_override_by_id",
    "signature_override_at",
    "payment_type",
    "payment_bank_name",
    "payment_bank_account",
    "payment_account_name",
    "imported_by_id",
    "created_at",
    "updated_at",
)

# The COPY's values in INVOICE_COLUMNS order (a missing column is a KeyError, never a shifted row).
_invoice_values = operator.itemgetter(*INVOICE_COLUMNS)

LINE_COLUMNS = (
    "invoice_id",
    "position",
    "nature",
    "line_number",
    "code",
    "name",
    "unit",
    "quantity",
    "unit_price",
    "discount_rate",
    "discount_amount",
    "amount",
    "tax_rate_text",
    "tax_rate",
    "tax_amount",
    "tax_amount_source",
    "extras",
)


def _line_row(invoice_id: int, line: Any) -> tuple[Any, ...]:
    return (
        invoice_id,
        line.position,
        line.nature,
        line.line_number,
        line.code,
        line.name,
        line.unit,
        line.quantity,
        line.unit_price,
        line.discount_rate,
        line.discount_amount,
        line.amount,
        line.tax_rate_text,
        line.tax_rate,
        line.tax_amount,
        line.tax_amount_source,
        json.dumps(line.extras, ensure_ascii=False) if line.extras else "{}",
    )


def _summary_json(summary: Any) -> dict[str, Any]:
    return {
        "tax_rate_text": summary.tax_rate_text,
        "tax_rate": _dec(summary.tax_rate),
        "taxable_amount": _dec(summary.taxable_amount),
        "tax_amount": _dec(summary.tax_amount),
    }


def _invoice_extras(parsed: ParsedInvoice) -> dict[str, Any]:
    extras: dict[str, Any] = dict(parsed.extras)
    if parsed.seller.extras:
        extras["NBan"] = parsed.seller.extras
    if parsed.buyer.extras:
        extras["NMua"] = parsed.buyer.extras
    return extras


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
