"""Demo invoices: the three shared samples plus generated invoices across recent months,
one replacement (its original shows as obsolete) — imported through the real import service.

The generated ones carry their seller's XML signature, as real e-invoices do, made with certificates of a
throwaway demo CA (invoices.sample_signing; chain trust is not checked without a trust store), so their
pages show a valid signature; one more had its amount raised after it was signed: it shows the signature
INVALID and cannot be put in a payment request until an owner overrides it (docs/controls.md)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

DEMO_DIR = Path(__file__).resolve().parent / "demo_data"
DEMO_IMPORTER = "ketoan@acountee.local"
MONTHS = [(2026, 6), (2026, 7), (2026, 8), (2026, 9), (2026, 10), (2026, 11)]


def demo_uploads() -> list[tuple[str, bytes]]:
    from invoices.sample_signing import ThrowawayCA
    from invoices.samples import make_invoice

    ca = ThrowawayCA.create("Acountee Demo CA")
    uploads = [(path.name, path.read_bytes()) for path in sorted(DEMO_DIR.glob("*.xml"))]
    number = 9000
    for year, month in MONTHS:
        for day in (3, 11, 19, 26):
            number += 1
            sample = make_invoice(
                number,
                rng=random.Random(number),  # noqa: S311
                issue_date=date(year, month, day),
                series="C26DEM",
                lines=1 + number % 6,
            )
            uploads.append((sample.name, _signed(sample.content, ca)))
    uploads.append(("replacement_of_00009001.xml", _replacement()))
    uploads.append(("00009201_amount_changed_after_signing.xml", _tampered(ca)))
    return uploads


def _signed(content: bytes, ca: Any) -> bytes:
    """The seller's signature over the invoice data, with a demo certificate for the seller's tax code."""
    from lxml import etree

    from invoices.sample_signing import sign_invoice

    tax_code = etree.fromstring(content).findtext("DLHDon/NDHDon/NBan/MST") or ""
    return sign_invoice(content, ca.issue(tax_code=tax_code))


def _tampered(ca: Any) -> bytes:
    """A signed invoice whose amount payable was raised by 10,000,000 ₫ afterwards (as by whoever forwarded
    it): its signature no longer verifies."""
    from invoices.samples import make_invoice

    sample = make_invoice(9201, rng=random.Random(9201), issue_date=date(2026, 11, 28), series="C26DEM")  # noqa: S311
    text = _signed(sample.content, ca).decode()
    start = text.index("<TgTTTBSo>") + len("<TgTTTBSo>")
    end = text.index("</TgTTTBSo>", start)
    return (text[:start] + str(int(text[start:end]) + 10_000_000) + text[end:]).encode()


def _replacement() -> bytes:
    """Replaces invoice 00009001 of the same seller (imported above): that one becomes obsolete."""
    from invoices.samples import make_invoice

    replacement = make_invoice(
        9101,
        rng=random.Random(9101),  # noqa: S311
        issue_date=date(2026, 6, 10),
        series="C26DEM",
        lines=2,
        seller=9001 % 6,
    ).content.decode()
    related = (
        "<TTHDLQuan><TCHDon>1</TCHDon><LHDCLQuan>1</LHDCLQuan><KHMSHDCLQuan>1</KHMSHDCLQuan>"
        "<KHHDCLQuan>C26DEM</KHHDCLQuan><SHDCLQuan>00009001</SHDCLQuan><NLHDCLQuan>2026-06-03</NLHDCLQuan>"
        "<GChu>Thay thế hóa đơn do sai đơn giá</GChu></TTHDLQuan>"
    )
    return replacement.replace("<MSTTCGP>", related + "<MSTTCGP>", 1).encode()


def seed_invoices(log: Callable[[str], Any]) -> None:
    from accounts.models import User
    from invoices.services import invoices_import

    actor = User.objects.filter(email__iexact=DEMO_IMPORTER).first()
    report = invoices_import(uploads=demo_uploads(), actor=actor)
    counts = report.counts()
    log(f"  invoices: {counts['success']} imported, {counts['skipped']} already there, {counts['failure']} failed")
    for _upload, entry in report.entries():
        if entry.result == "failure":
            log(f"    {entry.name}: {entry.reason}")
