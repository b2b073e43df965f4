"""Demo invoices: the three shared samples plus generated invoices across recent months,
one replacement (its original shows as obsolete) — imported through the real import service."""

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
    from invoices.samples import make_invoice

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
            uploads.append((sample.name, sample.content))
    uploads.append(("replacement_of_00009001.xml", _replacement()))
    return uploads


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
