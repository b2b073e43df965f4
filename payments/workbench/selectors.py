"""Reads of the workbench: the month's cleanup list and counts, the approved PRs to export,
the user's export templates. Every queryset's joins are fixed here (tests pin the counts)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from acountee import months
from acountee.errors import NotFoundError, ValidationFailed
from acountee.months import Month
from invoices.models import Invoice, InvoiceStatus
from payments.models import PaymentRequest, PaymentRequestStatus, PaymentRequestType, PRInvoice
from payments.workbench.models import ExportTemplate

if TYPE_CHECKING:
    from accounts.models import User

MAX_EXPORT_IDS = 10_000


def parse_month(value: Any, *, field: str = "month") -> Month:
    """The one month parser (acountee.months), with the workbench's code (INVALID_MONTH)."""
    return months.parse_month(value, field=field, code="INVALID_MONTH", message=_("Use a month as YYYY-MM."))


def parse_ids(value: Any, *, field: str = "ids", limit: int = MAX_EXPORT_IDS) -> list[int]:
    """`1,2,3` (or a list of those) → [1, 2, 3]; anything that is not a positive bigint is refused."""
    parts: list[str] = []
    for chunk in value if isinstance(value, list | tuple) else [value]:
        parts.extend(p.strip() for p in str(chunk if chunk is not None else "").split(","))
    parts = [p for p in parts if p]
    if len(parts) > limit:
        raise ValidationFailed(
            _("Too many ids."), code="TOO_MANY_IDS", details={field: [_("At most %(n)d.") % {"n": limit}]}
        )
    bad = [p for p in parts if not (p.isascii() and p.isdigit() and len(p) <= 18 and int(p) > 0)]
    if bad:
        raise ValidationFailed(
            _("Ids must be positive whole numbers."),
            code="INVALID_IDS",
            details={field: [_("Not an id: %(v)s") % {"v": b[:30]} for b in bad[:10]]},
        )
    return list(dict.fromkeys(int(p) for p in parts))


# --- invoice cleanup ----------------------------------------------------------------------------
def _month_invoices(month: Month) -> QuerySet[Invoice]:
    return Invoice.objects.filter(month.date_filter("issue_date"))


def cleanup_candidates(*, month: Month) -> QuerySet[Invoice]:
    """Invoices of the month (issue date) still `imported` and never put in a payment request:
    the ones to review and mark obsolete before the period closes."""
    return (
        _month_invoices(month)
        .filter(status=InvoiceStatus.IMPORTED, pr_link__isnull=True)
        .only(
            "id",
            "series",
            "number",
            "issue_date",
            "seller_name",
            "seller_tax_code",
            "total_payable",
            "currency",
            "status",
            "created_at",
        )
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


# --- export ---------------------------------------------------------------------------------------
# The payee is the one frozen at approval request (docs/controls.md, PAYEE-FROZEN), never read live.
EXPORT_PR_FIELDS = (
    "id",
    "name",
    "type",
    "status",
    "amount",
    "currency",
    "note",
    "bank_name",
    "bank_account",
    "account_name",
    "payee_bank_name",
    "payee_bank_account",
    "payee_account_name",
    "payment_reference",
    "maker__name",
    "maker__email",
)
EXPORT_INVOICE_FIELDS = (
    "pr_id",
    "invoice__seller_name",
    "invoice__payment_bank_name",
    "invoice__payment_bank_account",
    "invoice__payment_account_name",
)


def approved_prs_for_export(
    *,
    month: Month | None = None,
    ids: Iterable[int] | None = None,
) -> QuerySet[PaymentRequest]:
    """Approved PRs created in the month (local time) and/or among `ids`, oldest first."""
    qs = PaymentRequest.objects.filter(status=PaymentRequestStatus.APPROVED)
    if month is not None:
        start, end = month.local_bounds()
        qs = qs.filter(created_at__gte=start)
        if end is not None:
            qs = qs.filter(created_at__lt=end)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.order_by("id")


class _Links:
    """Stands in for `pr.invoice_links` (`.all()`), so the payments app's own bank detail
    resolution runs on plain rows instead of 100,000 model instances and their managers."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[Any] = []

    def all(self) -> list[Any]:
        return self.items


class ExportPR:
    """One exported PR: its fields as attributes plus `invoice_links.all()` of linked invoices."""

    __slots__ = (
        "account_name",
        "amount",
        "bank_account",
        "bank_name",
        "currency",
        "id",
        "invoice_links",
        "maker_name",
        "name",
        "note",
        "payee_account_name",
        "payee_bank_account",
        "payee_bank_name",
        "payment_reference",
        "pk",
        "status",
        "type",
    )

    def __init__(self, row: tuple[Any, ...]) -> None:
        (
            self.id,
            self.name,
            self.type,
            self.status,
            self.amount,
            self.currency,
            self.note,
            self.bank_name,
            self.bank_account,
            self.account_name,
            self.payee_bank_name,
            self.payee_bank_account,
            self.payee_account_name,
            self.payment_reference,
            maker_name,
            maker_email,
        ) = row
        self.pk = self.id
        self.maker_name = maker_name or maker_email
        self.invoice_links = _Links()


class _Invoice:
    __slots__ = ("payment_account_name", "payment_bank_account", "payment_bank_name", "seller_name")

    def __init__(self, seller: str, bank: str, account: str, holder: str) -> None:
        self.seller_name, self.payment_bank_name, self.payment_bank_account, self.payment_account_name = (
            seller,
            bank,
            account,
            holder,
        )


class _Link:
    __slots__ = ("invoice",)

    def __init__(self, invoice: _Invoice) -> None:
        self.invoice = invoice


def export_rows(
    *, month: Month | None = None, ids: Iterable[int] | None = None, chunk_size: int = 2000
) -> Iterator[ExportPR]:
    """The PRs to export, streamed: one server-side cursor over the PRs (with their maker), and
    per chunk of `chunk_size` one query for the linked invoices of the chunk's direct PRs.
    Constant memory, 1 + ceil(n / chunk_size) queries."""
    rows = approved_prs_for_export(month=month, ids=ids).values_list(*EXPORT_PR_FIELDS).iterator(chunk_size=chunk_size)
    chunk: list[ExportPR] = []
    for row in rows:
        chunk.append(ExportPR(row))
        if len(chunk) >= chunk_size:
            yield from _with_invoices(chunk)
            chunk = []
    if chunk:
        yield from _with_invoices(chunk)


def _with_invoices(chunk: list[ExportPR]) -> list[ExportPR]:
    direct = {pr.id: pr for pr in chunk if pr.type == PaymentRequestType.DIRECT}
    if direct:
        links = (
            PRInvoice.objects.filter(pr_id__in=list(direct)).order_by("pr_id", "id").values_list(*EXPORT_INVOICE_FIELDS)
        )
        for pr_id, seller, bank, account, holder in links:
            direct[pr_id].invoice_links.items.append(_Link(_Invoice(seller, bank, account, holder)))
    return chunk


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
