"""The invoice page as the tax authority's portal (hoadondientu.gdt.gov.vn) shows an e-invoice, so a chief
accountant reads it without help: header (form, series, number, date), seller and buyer, the lines, the per-rate
summary, the totals, the amount in words, and the invoices it corrects or is corrected by.

Pure functions: `invoice_page` turns an invoice already read with its lines and corrections
(`invoices.selectors.invoice_page_queryset`) into plain values formatted for the active language — money, quantities
and dates the reader's way (`19.700.000`, `15.000.000`, `05/10/2026` on Vietnamese pages) — and runs no query. The
markup is `admin/invoices/invoice/document.html`; `invoices.admin.InvoiceAdmin` passes the page to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from acountee.amount_words import amount_in_words_vi
from acountee.dates import day, moment
from acountee.money import EMPTY, format_amount, format_number
from invoices.models import Invoice, InvoiceService, LineNature, RelatedKind, RelatedMatch

# How a line's VAT was found (InvoiceService.tax_amount_source), for the technical section.
VAT_SOURCES: dict[str, Any] = {
    "line": gettext_lazy("stated on the line"),
    "summary": gettext_lazy("shared from the per-rate summary"),
    "total": gettext_lazy("shared from the totals block"),
    "computed": gettext_lazy("computed: amount times rate"),
}
# Rates that are not a percentage, as the portal writes them, with what they mean.
RATE_WORDS: dict[str, Any] = {
    "KCT": gettext_lazy("not subject to VAT"),
    "KKKNT": gettext_lazy("not declared, not paid"),
}


# Lines the table marks, as the portal does: anything but goods or services (TChat 1).
MARKED: dict[LineNature, str] = {
    LineNature.PROMOTION: "promotion",
    LineNature.DISCOUNT: "discount",
    LineNature.NOTE: "note",
    LineNature.SPECIAL: "special",
}


@dataclass(frozen=True)
class Party:
    """The seller or the buyer as the invoice names them; empty fields are left out of the page."""

    name: str
    tax_code: str
    address: str
    bank_account: str = ""
    bank_name: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class LineRow:
    number: str
    name: str
    unit: str
    quantity: str
    unit_price: str
    amount: str
    rate: str
    tax: str
    kind: str = ""  # "promotion", "discount", "note", "special": the row is marked
    kind_label: str = ""


@dataclass(frozen=True)
class RateRow:
    rate: str
    before_tax: str
    tax: str


@dataclass(frozen=True)
class Related:
    """One sentence about a related invoice, with a link when it is imported here."""

    direction: str  # "original" (this invoice corrects it) or "correction" (it corrects this invoice)
    kind: str  # "replacement" or "adjustment"
    text: str
    url: str = ""
    link_text: str = ""
    note: str = ""


@dataclass(frozen=True)
class InvoicePage:
    title: str
    form: str
    series: str
    number: str
    issue_date: str
    tax_authority_code: str
    payment_method: str
    currency: str
    exchange_rate: str  # shown only for another currency than VND
    seller: Party
    buyer: Party
    lines: list[LineRow]
    rates: list[RateRow]
    totals: list[tuple[str, str, str]]  # (key, label, amount)
    words: str  # computed by us from the amount payable
    words_in_file: str  # TgTTTBChu as written, only when it says something else
    related: list[Related]


@dataclass(frozen=True)
class Technical:
    """What the file and the import record beside the invoice itself, for whoever checks a file (collapsed)."""

    rows: list[tuple[str, str]]
    vat_sources: list[tuple[str, str]]  # (line No., where its VAT was found)
    extras: list[tuple[str, str]]  # vendor key/values, flattened


def invoice_page(
    invoice: Invoice,
    *,
    lines: Iterable[InvoiceService],
    corrections: Iterable[Invoice],
    change_url: Callable[[int], str],
) -> InvoicePage:
    """The page of `invoice`; `corrections` are the invoices that name it as their original, `change_url` gives
    an invoice's page from its id."""
    lines = list(lines)
    currency = invoice.currency or "VND"
    words = amount_in_words_vi(invoice.total_payable, currency)  # ours, never the supplier's text
    return InvoicePage(
        title=invoice.title or _("Invoice"),
        form=invoice.template_code,
        series=invoice.series,
        number=invoice.number,
        issue_date=day(invoice.issue_date) if invoice.issue_date else EMPTY,
        tax_authority_code=invoice.tax_authority_code,
        payment_method=invoice.payment_method_text,
        currency=currency,
        exchange_rate="" if currency == "VND" else format_number(invoice.exchange_rate),
        seller=Party(
            name=invoice.seller_name,
            tax_code=invoice.seller_tax_code,
            address=invoice.seller_address,
            bank_account=invoice.seller_bank_account,
            bank_name=invoice.seller_bank_name,
            phone=invoice.seller_phone,
            email=invoice.seller_email,
        ),
        buyer=Party(name=invoice.buyer_name, tax_code=invoice.buyer_tax_code, address=invoice.buyer_address),
        lines=[line_row(line, currency) for line in lines],
        rates=rate_rows(invoice.rate_summaries, currency),
        totals=[
            ("before_tax", _("Total amount before VAT"), format_amount(invoice.total_before_tax, currency)),
            ("tax", _("Total VAT amount"), format_amount(invoice.total_tax, currency)),
            ("trade_discount", _("Trade discount"), format_amount(invoice.trade_discount, currency)),
            ("other_fees", _("Other fees"), format_amount(invoice.other_fees, currency)),
            ("payable", _("Total payment amount"), format_amount(invoice.total_payable, currency)),
        ],
        words=words,
        words_in_file=words_if_different(invoice.total_in_words, words),
        related=related_invoices(invoice, corrections, change_url),
    )


def line_number(line: InvoiceService) -> str:
    """STT as written; the position in the file when the line has none."""
    return str(line.line_number if line.line_number is not None else line.position)


def line_row(line: InvoiceService, currency: str) -> LineRow:
    """One row of the lines table. A trade-discount line reduces the amount before tax: its amount shows negative
    whatever sign the file writes, like its VAT (docs/invoices.md, "Reading what suppliers send")."""
    amount = -abs(line.amount) if line.nature == LineNature.DISCOUNT else line.amount
    nature = LineNature(line.nature) if line.nature in LineNature.values else None
    kind = MARKED.get(nature, "") if nature is not None else ""
    return LineRow(
        number=line_number(line),
        name=line.name,
        unit=line.unit,
        quantity=format_number(line.quantity) if line.quantity is not None else "",
        unit_price=format_number(line.unit_price) if line.unit_price is not None else "",
        amount=format_amount(amount, currency),
        rate=rate_text(line.tax_rate_text, line.tax_rate),
        tax=format_amount(line.tax_amount, currency),
        kind=kind,
        kind_label=str(nature.label) if nature is not None and kind else "",
    )


def rate_text(written: str, rate: Decimal | None) -> str:
    """A VAT rate as the portal shows it: `10%`, `3,5%` on Vietnamese pages, `KCT`, `KKKNT` as written."""
    if rate is not None:
        return f"{format_number(rate)}%"
    return written or EMPTY


def rate_rows(summaries: Any, currency: str) -> list[RateRow]:
    """The per-rate summary (`rate_summaries`, stored as the importer wrote it) as table rows."""
    rows = []
    for summary in summaries if isinstance(summaries, list) else []:
        if not isinstance(summary, Mapping):
            continue
        written = str(summary.get("tax_rate_text") or "")
        rate = _decimal(summary.get("tax_rate"))
        text = rate_text(written, rate)
        if written in RATE_WORDS:
            text = f"{written} ({RATE_WORDS[written]})"
        rows.append(
            RateRow(
                rate=text,
                before_tax=format_amount(_decimal(summary.get("taxable_amount")), currency),
                tax=format_amount(_decimal(summary.get("tax_amount")), currency),
            )
        )
    return rows


def words_if_different(written: str, ours: str) -> str:
    """The file's amount in words when it says something else than ours (letter case, spacing and a final full
    stop aside); empty when they agree or the file writes none."""

    def plain(text: str) -> str:
        return " ".join(text.replace(".", " ").split()).casefold()

    return written if written.strip() and plain(written) != plain(ours) else ""


def identity(form: str, series: str, number: str, issued: date | None) -> str:
    """An invoice named the way Vietnamese documents cite one: form, series, number, date."""
    values = {"form": form or EMPTY, "series": series or EMPTY, "number": number or EMPTY}
    if issued is None:
        return _("form %(form)s, series %(series)s, No. %(number)s") % values
    return _("form %(form)s, series %(series)s, No. %(number)s of %(date)s") % {**values, "date": day(issued)}


def related_invoices(
    invoice: Invoice, corrections: Iterable[Invoice], change_url: Callable[[int], str]
) -> list[Related]:
    """Both directions: the original this invoice replaces or adjusts, and the invoices that replace or adjust
    this one (an original used not to say it was replaced, nor by which invoice)."""
    related = []
    if invoice.related_kind:
        replacement = invoice.related_kind == RelatedKind.REPLACEMENT
        original = invoice.original
        notes = []
        if original is None:
            notes.append(match_text(invoice.related_match or RelatedMatch.NOT_FOUND))
        if invoice.related_from_line_text:
            notes.append(_("named in a line's text, not in a related-invoice block"))
        if invoice.related_note:
            notes.append(invoice.related_note)
        related.append(
            Related(
                direction="original",
                kind="replacement" if replacement else "adjustment",
                text=_("This invoice replaces invoice") if replacement else _("This invoice adjusts invoice"),
                url=change_url(original.pk) if original is not None else "",
                link_text=identity(
                    original.template_code if original else invoice.related_template_code,
                    original.series if original else invoice.related_series,
                    original.number if original else invoice.related_number,
                    original.issue_date if original else invoice.related_issue_date,
                ),
                note="; ".join(str(note) for note in notes),
            )
        )
    for correction in corrections:
        replacement = correction.related_kind == RelatedKind.REPLACEMENT
        related.append(
            Related(
                direction="correction",
                kind="replacement" if replacement else "adjustment",
                text=_("Replaced by invoice") if replacement else _("Adjusted by invoice"),
                url=change_url(correction.pk),
                link_text=identity(
                    correction.template_code, correction.series, correction.number, correction.issue_date
                ),
                note=(
                    _("replaced while this invoice was in a payment request")
                    if replacement and invoice.superseded_while_linked
                    else ""
                ),
            )
        )
    return related


def match_text(value: str) -> str:
    """How the original was looked up, in words (an unknown stored value as written)."""
    return str(RelatedMatch(value).label) if value in RelatedMatch.values else value


def technical(invoice: Invoice, *, lines: Iterable[InvoiceService]) -> Technical:
    """The technical section of the page: the record, where each line's VAT was found, the vendor's extras."""
    return Technical(
        rows=technical_rows(invoice),
        vat_sources=[
            (line_number(line), str(VAT_SOURCES.get(line.tax_amount_source, line.tax_amount_source)))
            for line in lines
            if line.tax_amount_source
        ],
        extras=flatten(invoice.extras),
    )


def technical_rows(invoice: Invoice) -> list[tuple[str, str]]:
    """Hash, schema, provider, the currency and words as written, the original's lookup, who imported it when."""
    rows = [
        (_("Content hash (SHA-256)"), invoice.content_hash),
        (_("Schema version"), invoice.schema_version or EMPTY),
        (_("E-invoice provider tax code"), invoice.issuer_tax_code or EMPTY),
        (_("Currency as written"), invoice.currency_as_written or EMPTY),
        (_("Amount in words as written"), invoice.total_in_words or EMPTY),
    ]
    if invoice.related_kind:
        rows.append((_("Original lookup"), match_text(invoice.related_match) or EMPTY))
    rows += [
        (_("Imported by"), str(invoice.imported_by) if invoice.imported_by_id else EMPTY),
        (_("Imported at"), moment(invoice.created_at) if invoice.created_at else EMPTY),
        (_("Last changed at"), moment(invoice.updated_at) if invoice.updated_at else EMPTY),
    ]
    return [(str(label), value) for label, value in rows]


def flatten(values: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Vendor key/values (`extras`, TTKhac) as `key → value` rows, nested groups as `NBan / key`: never JSON."""
    rows: list[tuple[str, str]] = []
    if isinstance(values, Mapping):
        for key, value in values.items():
            name = f"{prefix} / {key}" if prefix else str(key)
            if isinstance(value, Mapping | list):
                rows += flatten(value, name)
            else:
                rows.append((name, "" if value is None else str(value)))
    elif isinstance(values, list):
        for index, value in enumerate(values, start=1):
            rows += (
                flatten(value, f"{prefix} / {index}") if isinstance(value, Mapping | list) else [(prefix, str(value))]
            )
    return rows


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None
