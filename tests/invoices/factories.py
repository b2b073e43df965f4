"""Invoices for tests are made the way production makes them: XML through the import service."""

from __future__ import annotations

import io
import random
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

from invoices.models import Invoice
from invoices.samples import make_invoice
from invoices.services import invoices_import

FIXTURES = Path(__file__).resolve().parent / "fixtures"
VALID = FIXTURES / "valid"
HOSTILE = FIXTURES / "hostile"


def fixture(name: str) -> bytes:
    for folder in (VALID, HOSTILE):
        if (folder / name).exists():
            return (folder / name).read_bytes()
    raise FileNotFoundError(name)


def invoice_xml(number: int, **kwargs: Any) -> bytes:
    kwargs.setdefault("rng", random.Random(number))
    kwargs.setdefault("lines", 2)
    return make_invoice(number, **kwargs).content


def zip_of(entries: list[tuple[str, bytes]], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in entries:
            archive.writestr(name, content)
    return buffer.getvalue()


def import_one(content: bytes, *, name: str = "invoice.xml", actor: Any = None) -> Invoice:
    report = invoices_import(uploads=[(name, content)], actor=actor)
    entry = report.uploads[0].entries[0]
    assert entry.result == "success", entry.reason
    return Invoice.objects.get(pk=entry.invoice_id)


def create_invoice(number: int = 1, *, actor: Any = None, issue_date: date | None = None, **kwargs: Any) -> Invoice:
    return import_one(invoice_xml(number, issue_date=issue_date, **kwargs), name=f"{number}.xml", actor=actor)


_audit_numbers = iter(range(900_000, 10**9))


def audit_row_invoice() -> Invoice:
    """One invoice row (for the per-table audit tests)."""
    return create_invoice(next(_audit_numbers))


def audit_row_invoice_service() -> Any:
    return create_invoice(next(_audit_numbers)).services.first()
