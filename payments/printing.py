"""The payment request form (*Giấy đề nghị thanh toán*, Mẫu số 05-TT of Thông tư 200/2014/TT-BTC and
133/2016/TT-BTC) for one request or a month of them: as a print-styled HTML page and as a PDF.

Read-only: the requests come from `payments.selectors.payment_request_print` (scoped to who may see them, a
fixed number of queries); this module turns each into what the form shows — requester and team, content,
amount in figures and in Vietnamese words (`acountee.amount_words`), payee, invoices, the approval trail and
the signature lines — and renders one template for both outputs.

The PDF is WeasyPrint's. It draws with the DejaVu Sans files shipped in `payments/static/payments/print/fonts`
(free to redistribute, licence beside them), so a PDF is the same on every machine; it may read nothing but
the files of that directory (`_fetcher`). WeasyPrint needs the Pango system library: where it cannot be loaded
`render_pdf` raises `PdfUnavailable`, which the views answer with a clear page, and the HTML page still works.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from django.conf import settings
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from acountee.amount_words import amount_in_words_vi
from acountee.dates import day, moment
from acountee.money import format_money
from approvals.models import StepMode
from payments.models import PaymentRequest, PaymentRequestStatus
from payments.selectors import BankDetails, payment_request_bank_details

logger = logging.getLogger(__name__)

PRINT_DIR = Path(__file__).resolve().parent / "static" / "payments" / "print"
TEMPLATE = "admin/payments/print/document.html"
FINAL = (PaymentRequestStatus.APPROVED, PaymentRequestStatus.COMPLETED)
CIRCULARS = {"200": ("200/2014/TT-BTC", date(2014, 12, 22)), "133": ("133/2016/TT-BTC", date(2016, 8, 26))}


class PdfUnavailable(Exception):
    """The PDF cannot be made on this server (WeasyPrint or its system libraries are missing)."""


# --- what the form shows ------------------------------------------------------------------------------------------
@dataclass
class TrailStep:
    number: int
    name: str
    mode: str
    approvers: list[str]
    acts: list[dict[str, str]]  # who acted, when, on behalf of whom ("" when in their own name)


@dataclass
class PrintedRequest:
    pr: PaymentRequest
    number: str
    date_line: str  # "Ngày 06 tháng 12 năm 2026"
    requester: str
    department: str
    content: str
    note: str
    amount: str
    amount_in_words: str
    payee: BankDetails
    invoices: list[dict[str, str]]
    invoices_total: str
    documents: int
    documents_label: str
    trail: list[TrailStep]
    signatures: list[dict[str, Any]]
    status: str
    final: bool
    paid: str = ""


def printed_request(pr: PaymentRequest) -> PrintedRequest:
    """What one form shows, in the active language. No query when `pr` comes from `payment_request_print`."""
    trail = _trail(pr)
    invoices = [
        {
            "number": f"{inv.series} {inv.number}".strip(),
            "date": day(inv.issue_date) if inv.issue_date else "",
            "seller": inv.seller_name,
            "tax_code": inv.seller_tax_code,
            "amount": format_money(inv.total_payable, inv.currency),
        }
        for inv in (link.invoice for link in pr.invoice_links.all())
    ]
    total = sum((link.invoice.total_payable or Decimal(0) for link in pr.invoice_links.all()), Decimal(0))
    documents = len(invoices) + int(getattr(pr, "attachment_count", 0) or 0)
    maker = pr.maker
    return PrintedRequest(
        pr=pr,
        number=str(pr.pk),
        date_line=_date_line(pr.created_at),
        requester=str(maker),
        department=maker.team.name if maker.team_id and maker.team else "",
        content=pr.name,
        note=pr.note,
        amount=format_money(pr.amount, pr.currency),
        amount_in_words=amount_in_words_vi(pr.amount, pr.currency),
        payee=payment_request_bank_details(pr),
        invoices=invoices,
        invoices_total=format_money(total, pr.currency) if invoices else "",
        documents=documents,
        documents_label=ngettext(
            "(Attached: %(count)d original document.)", "(Attached: %(count)d original documents.)", documents
        )
        % {"count": documents},
        trail=trail,
        signatures=_signatures(str(maker), trail),
        status=str(pr.get_status_display()),
        final=pr.status in FINAL,
        paid=day(pr.completed_at) if pr.status == PaymentRequestStatus.COMPLETED and pr.completed_at else "",
    )


def _date_line(value: datetime) -> str:
    local = timezone.localtime(value)
    return _("Date: %(day)s/%(month)s/%(year)s") % {
        "day": f"{local.day:02d}",
        "month": f"{local.month:02d}",
        "year": local.year,
    }


def _trail(pr: PaymentRequest) -> list[TrailStep]:
    approval = pr.approval if pr.approval_id else None
    if approval is None:
        return []
    modes = dict(StepMode.choices)
    return [
        TrailStep(
            number=step.number,
            name=step.name,
            mode=str(modes.get(step.mode, step.mode)),
            approvers=[str(su.user) for su in step.step_users.all()],
            acts=[
                {
                    "by": str(record.acted_by),
                    "at": moment(record.approved_at),
                    "for": str(record.approver) if record.is_delegated else "",
                }
                for record in step.records.all()
            ],
        )
        for step in approval.steps.all()
    ]


def _signatures(requester: str, trail: list[TrailStep]) -> list[dict[str, Any]]:
    """The requester, then one column per step of the chain titled by the step (Kế toán trưởng, Giám đốc…) with
    whoever approved it; a request without a chain gets the form's own columns, to be signed by hand."""
    steps = [{"title": step.name, "names": [act["by"] for act in step.acts]} for step in trail]
    if not steps:
        steps = [{"title": _("Chief accountant"), "names": []}, {"title": _("Approver"), "names": []}]
    return [{"title": _("Requester"), "names": [requester]}, *steps]


def company() -> dict[str, str]:
    """The form's heading: the company (settings COMPANY_NAME, COMPANY_ADDRESS, COMPANY_TAX_CODE) and the circular
    whose form it follows (ACCOUNTING_CIRCULAR)."""
    number, issued = CIRCULARS.get(str(getattr(settings, "ACCOUNTING_CIRCULAR", "200")), CIRCULARS["200"])
    name = str(getattr(settings, "COMPANY_NAME", "") or "")
    return {
        "name": name,
        "address": str(getattr(settings, "COMPANY_ADDRESS", "") or ""),
        "tax_code": str(getattr(settings, "COMPANY_TAX_CODE", "") or ""),
        "circular": _("(Issued with Circular No. %(number)s of %(date)s of the Ministry of Finance)")
        % {"number": number, "date": day(issued)},
        "addressee": _("The Board of Directors of %(company)s") % {"company": name}
        if name
        else _("The Board of Directors"),
    }


# --- rendering ----------------------------------------------------------------------------------------------------
def render_document(
    prs: list[PaymentRequest], *, title: str, pdf: bool, user: Any, links: dict[str, str] | None = None
) -> str:
    """One HTML document with one form per request (each from a new page when printed)."""
    return render_to_string(
        TEMPLATE,
        {
            "forms": [printed_request(pr) for pr in prs],
            "company": company(),
            "title": title,
            "pdf": pdf,
            "links": links or {},
            # The PDF reads the stylesheet (and the fonts beside it) from the disk, the browser from STATIC_URL.
            "stylesheet": "form.css" if pdf else static("payments/print/form.css"),
            "script": "" if pdf else static("payments/print/print.js"),
            "printed": _("Printed %(when)s by %(who)s from Acountee.")
            % {"when": moment(timezone.now()), "who": str(user)},
        },
    )


def render_pdf(html: str) -> bytes:
    """`html` (from `render_document(pdf=True)`) as PDF bytes; `PdfUnavailable` where WeasyPrint cannot run."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: Pango or GObject missing
        logger.warning("PDF unavailable: %s", exc)
        raise PdfUnavailable(str(exc)) from exc
    document = weasyprint.HTML(string=html, base_url=PRINT_DIR.as_uri() + "/", url_fetcher=_fetcher(weasyprint))
    pdf: bytes = document.write_pdf()
    return pdf


def _fetcher(weasyprint: Any) -> Any:
    """A URL fetcher that opens the stylesheet and fonts of PRINT_DIR and nothing else: whatever a request's text
    holds, rendering it never reads another file or the network."""

    class PrintDirOnly(weasyprint.URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            parts = urlsplit(url)
            if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
                raise ValueError(f"not fetched: {url}")
            path = Path(url2pathname(parts.path)).resolve()
            if not path.is_relative_to(PRINT_DIR) or not path.is_file():
                raise ValueError(f"not fetched: {url}")
            return super().fetch(path.as_uri(), headers)

    return PrintDirOnly(allowed_protocols=["file"])
