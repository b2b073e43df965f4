"""Reads of the workbench: the month's cleanup list and counts, the approved PRs to export,
the user's export templates. Every queryset's joins are fixed here (tests pin the counts)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from acountee.errors import NotFoundError, ValidationFailed
from invoices.models import Invoice, InvoiceStatus
from payments.models import PaymentRequest, PaymentRequestStatus, PRInvoice
from payments.workbench.models import ExportTemplate

if TYPE_CHECKING:
    from accounts.models import User

_MONTH_RE = re.compile(r"^([0-9]{4})-([0-9]{2})$")
MAX_EXPORT_IDS = 10_000


@dataclass(frozen=True)
class Month:
    """A calendar month; datetimes are compared in local time (settings.TIME_ZONE,
    Asia/Ho_Chi_Minh), so a PR made at 00:30 on the 1st belongs to that month, not the last."""

    year: int
    month: int

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def next_first_day(self) -> date:
        return date(self.year + 1, 1, 1) if self.month == 12 else date(self.year, self.month + 1, 1)

    def local_bounds(self) -> tuple[datetime, datetime]:
        tz = timezone.get_default_timezone()
        start = datetime.combine(self.first_day, datetime.min.time(), tzinfo=tz)
        end = datetime.combine(self.next_first_day, datetime.min.time(), tzinfo=tz)
        return start, end

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def parse_month(value: Any, *, field: str = "month") -> Month:
    text = str(value or "").strip()
    match = _MONTH_RE.match(text)
    if not match or not 1 <= int(match.group(2)) <= 12 or not 1900 <= int(match.group(1)) <= 9998:
        raise ValidationFailed(_("Use a month as YYYY-MM."), code="INVALID_MONTH", details={field: [_("Use YYYY-MM.")]})
    return Month(int(match.group(1)), int(match.group(2)))


def parse_ids(value: Any, *, field: str = "ids", limit: int = MAX_EXPORT_IDS) -> list[int]:
    """`1,2,3` (or a list of those) → [1, 2, 3]; anything that is not a positive bigint is refused."""
    parts: list[str] = []
    for chunk in (value if isinstance(value, list | tuple) else [value]):
        parts.extend(p.strip() for p in str(chunk if chunk is not None else "").split(","))
    parts = [p for p in parts if p]
    if len(parts) > limit:
        raise ValidationFailed(_("Too many ids."), code="TOO_MANY_IDS",
                               details={field: [_("At most %(n)d.") % {"n": limit}]})
    bad = [p for p in parts if not (p.isascii() and p.isdigit() and len(p) <= 18 and int(p) > 0)]
    if bad:
        raise ValidationFailed(_("Ids must be positive whole numbers."), code="INVALID_IDS",
                               details={field: [_("Not an id: %(v)s") % {"v": b[:30]} for b in bad[:10]]})
    return list(dict.fromkeys(int(p) for p in parts))


# --- invoice cleanup ----------------------------------------------------------------------------
def _month_invoices(month: Month) -> QuerySet[Invoice]:
    return Invoice.objects.filter(issue_date__gte=month.first_day, issue_date__lt=month.next_first_day)


def cleanup_candidates(*, month: Month) -> QuerySet[Invoice]:
    """Invoices of the month (issue date) still `imported` and never put in a payment request:
    the ones to review and mark obsolete before the period closes."""
    return (
        _month_invoices(month)
        .filter(status=InvoiceStatus.IMPORTED, pr_link__isnull=True)
        .only("id", "series", "number", "issue_date", "seller_name", "seller_tax_code", "total_payable",
              "currency", "status", "created_at")
        .order_by("issue_date", "id")
    )


def cleanup_counts(*, month: Month) -> dict[str, int]:
    """One query: `remaining` (imported, unlinked), `cleaned` (marked obsolete), `linked`
    (imported, in a PR), `completed` and `total` for the month."""
    imported = Q(status=InvoiceStatus.IMPORTED)
    return _month_invoices(month).aggregate(
        total=Count("id"),
        remaining=Count("id", filter=imported & Q(pr_link__isnull=True)),
        linked=Count("id", filter=imported & Q(pr_link__isnull=False)),
        cleaned=Count("id", filter=Q(status=InvoiceStatus.REDUNDANT)),
        completed=Count("id", filter=Q(status=InvoiceStatus.COMPLETED)),
    )


# --- export ----------------------------------------------------------------------------------------
EXPORT_INVOICE_FIELDS = ("id", "seller_name", "payment_bank_name", "payment_bank_account", "payment_account_name")


def approved_prs_for_export(*, month: Month | None = None, ids: Iterable[int] | None = None,
                            ) -> QuerySet[PaymentRequest]:
    """Approved PRs created in the month (local time) and/or among `ids`, oldest first, with
    their maker and linked invoices' payee fields (for bank detail resolution) prefetched.
    Iterate with `.iterator(chunk_size=...)`: the prefetch then runs once per chunk."""
    qs = PaymentRequest.objects.filter(status=PaymentRequestStatus.APPROVED)
    if month is not None:
        start, end = month.local_bounds()
        qs = qs.filter(created_at__gte=start, created_at__lt=end)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return (
        qs.select_related("maker")
        .only("id", "name", "type", "amount", "currency", "note", "status", "bank_name", "bank_account",
              "account_name", "payment_reference", "created_at", "maker__id", "maker__name", "maker__email")
        .prefetch_related(Prefetch(
            "invoice_links",
            queryset=PRInvoice.objects.select_related("invoice").only(
                "id", "pr_id", *(f"invoice__{f}" for f in EXPORT_INVOICE_FIELDS)).order_by("id"),
        ))
        .order_by("id")
    )


# --- templates -------------------------------------------------------------------------------------
def export_template_list(*, user: User) -> QuerySet[ExportTemplate]:
    return ExportTemplate.objects.filter(user=user).order_by("name", "id")


def export_template_get(*, user: User, template_id: Any) -> ExportTemplate:
    """Only the user's own templates exist for them: another user's id is simply not found."""
    text = str(template_id or "").strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise NotFoundError(_("Export template not found."), code="TEMPLATE_NOT_FOUND")
    try:
        return export_template_list(user=user).get(pk=int(text))
    except ExportTemplate.DoesNotExist:
        raise NotFoundError(_("Export template not found."), code="TEMPLATE_NOT_FOUND") from None
