"""One function per report. Every figure is a SQL aggregate (ORM `values().annotate()` with filtered
`Sum`/`Count`, `width_bucket`, `date_trunc`; the cycle-time report is one SQL statement with
`percentile_cont`, see CYCLE_TIME_SQL); Python only shapes the few aggregated rows that come back.

Definitions (docs/reports.md):
- Amounts are in VND: an invoice counts `total_payable x exchange_rate` (1 for VND invoices),
  a PR without invoices (advanced) counts its own `amount`. Obsolete (redundant) invoices never count.
- Payable status of an invoice: not in a PR → `unlinked` (imported, not linked); in a PR → the PR's
  status: draft → `draft`, pending → `pending`, approved → `approved` (approved, unpaid),
  completed → `paid`.
- Month of an invoice: the calendar month of its issue date (a date as the seller wrote it, i.e.
  already Vietnam local time). Month of a PR without invoices: its creation time in Asia/Ho_Chi_Minh.
- Approval timing: the facts the approval engine records as they happen (`approval.requested_at` /
  `completed_at`, `approval_steps.started_at` / `completed_at`; docs/approvals.md, "Timing"); a
  reject/recall + re-request starts a new cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import (
    Count,
    DateField,
    DecimalField,
    Exists,
    F,
    Func,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate, TruncMonth
from django.utils.translation import gettext_lazy as _

from approvals.models import ApprovalRecord, ApprovalStepUser
from invoices.models import Invoice, InvoiceStatus
from payments.models import PaymentRequest, PaymentRequestStatus, PaymentRequestType, PRInvoice
from payments.reports.models import PayablesMonth, UnlinkedInvoicesDay

S = PaymentRequestStatus
LOCAL_TZ = ZoneInfo(settings.TIME_ZONE)
MONEY = DecimalField(max_digits=30, decimal_places=2)
ZERO = Decimal("0.00")

PAYABLE_STATUSES: list[tuple[str, Any]] = [
    ("unlinked", _("Imported, not in a PR")),
    ("draft", _("In draft PRs")),
    ("pending", _("Pending approval")),
    ("approved", _("Approved, unpaid")),
    ("paid", _("Paid")),
]
PR_STATUS_TO_PAYABLE: dict[str, str] = {
    S.DRAFT: "draft",
    S.PENDING: "pending",
    S.APPROVED: "approved",
    S.COMPLETED: "paid",
}

AGING_BUCKETS: list[tuple[str, Any]] = [
    ("0-30", _("0-30 days")),
    ("31-60", _("31-60 days")),
    ("61-90", _("61-90 days")),
    ("90+", _("over 90 days")),
]
AGING_KINDS: list[tuple[str, Any]] = [
    ("invoice", _("Unlinked invoices")),
    ("pr", _("Approved, unpaid PRs")),
]


@dataclass
class ReportResult:
    """What every report returns: flat `rows` (the table, CSV and XLSX) described by `columns`,
    the parameters used, and optional extra tables (`sections`)."""

    key: str
    title: Any
    columns: list[tuple[str, Any]]
    rows: list[dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)
    sections: dict[str, ReportResult] = field(default_factory=dict)


class AgeBucket(Func):
    """`width_bucket(days, ARRAY[31, 61, 91])`: 0 for ≤ 30 days (future dates too), 1 for 31-60,
    2 for 61-90, 3 beyond; one evaluation of the age per row (a CASE would repeat it per branch)."""

    template = "width_bucket(%(expressions)s, ARRAY[31, 61, 91])"
    output_field = IntegerField()


class MonthOf(Func):
    """The first day of a date's month (`date_trunc` on a plain timestamp: no time zone involved)."""

    template = "date_trunc('month', %(expressions)s::timestamp)::date"
    output_field = DateField()


class DaysBetween(Func):
    """`a - b` of two dates: a whole number of days."""

    template = "(%(expressions)s)"
    arg_joiner = " - "
    output_field = IntegerField()


def _money(value: Any) -> Decimal:
    return (value or ZERO).quantize(Decimal("0.01"))


def _invoice_amount() -> Any:
    return F("total_payable") * F("exchange_rate")


def _payable_invoices() -> Any:
    return Invoice.objects.exclude(status=InvoiceStatus.REDUNDANT)


def _prs_without_invoices() -> Any:
    """PRs that carry money without any invoice (advanced PRs, before invoices arrive)."""
    return PaymentRequest.objects.filter(type=PaymentRequestType.ADVANCED).exclude(
        Exists(PRInvoice.objects.filter(pr=OuterRef("pk")))
    )


# --- payables by month and status --------------------------------------------------------------------
def payables_by_month(*, first: date, end_exclusive: date | None, months: list[date]) -> ReportResult:
    """Amount and count per (month, payable status) for invoices issued in [first, end) plus PRs
    without invoices created in that period (local time)."""
    # Invoices from the rollup (a handful of rows per month, whatever the history); its `pr_status`
    # is '' for an invoice in no PR. The period is whole months (MonthRange, home_summary).
    if first.day != 1 or (end_exclusive is not None and end_exclusive.day != 1):
        raise ValueError("payables_by_month counts whole months")
    invoice_rows = (
        PayablesMonth.objects.filter(month__gte=first)
        .filter(**({"month__lt": end_exclusive} if end_exclusive else {}))
        .values("month", "pr_status")
        .annotate(count=Sum("invoices"), amount=Sum("amount"))
        .exclude(count=0)
        .order_by()
    )
    start = datetime.combine(first, datetime.min.time(), tzinfo=LOCAL_TZ)
    end = datetime.combine(end_exclusive or date.max, datetime.min.time(), tzinfo=LOCAL_TZ)
    pr_rows = (
        _prs_without_invoices()
        .filter(created_at__gte=start, created_at__lt=end)
        .annotate(month=TruncMonth("created_at", tzinfo=LOCAL_TZ, output_field=DateField()), pr_status=F("status"))
        .values("month", "pr_status")
        .annotate(count=Count("id"), amount=Sum("amount", output_field=MONEY))
        .order_by()
    )
    cells: dict[tuple[date, str], list[Any]] = {}
    for source in (invoice_rows, pr_rows):
        for row in source:
            month = row["month"].date() if isinstance(row["month"], datetime) else row["month"]
            payable = PR_STATUS_TO_PAYABLE[row["pr_status"]] if row["pr_status"] else "unlinked"
            cell = cells.setdefault((month, payable), [0, ZERO])
            cell[0] += int(row["count"])
            cell[1] += row["amount"] or ZERO
    rows = []
    for month in months:
        for key, label in PAYABLE_STATUSES:
            count, amount = cells.get((month, key), (0, ZERO))
            rows.append(
                {
                    "month": month.strftime("%Y-%m"),
                    "status": key,
                    "status_label": str(label),
                    "count": count,
                    "amount": _money(amount),
                }
            )
    return ReportResult(
        key="payables-by-month",
        title=_("Payables by month and status"),
        columns=[
            ("month", _("Month")),
            ("status", _("Status")),
            ("status_label", _("Status name")),
            ("count", _("Count")),
            ("amount", _("Amount (VND)")),
        ],
        rows=rows,
        params={"from": first.strftime("%Y-%m"), "to": months[-1].strftime("%Y-%m")},
    )


# --- payables by supplier -----------------------------------------------------------------------------
SUPPLIER_SQL = """{months}
SELECT seller_tax_code, sum(invoices) AS count, sum(amount) AS total,
       COALESCE(sum(amount) FILTER (WHERE invoice_status <> 'completed'), 0) AS outstanding,
       COALESCE(sum(invoices) FILTER (WHERE invoice_status <> 'completed'), 0) AS outstanding_count,
       COALESCE(sum(amount) FILTER (WHERE invoice_status = 'completed'), 0) AS paid
  FROM ({parts}) AS src (seller_tax_code, invoice_status, invoices, amount)
 GROUP BY seller_tax_code HAVING sum(invoices) <> 0
 ORDER BY outstanding DESC, total DESC, seller_tax_code
 LIMIT %(top)s
"""


# A period's whole months: read the months inside it, or — when they are more than half of the history
# (`from` early on, `to` late) — the all-time totals minus the months outside it, whichever reads fewer
# rows. The choice is one InitPlan over the small month rollup; the branch not chosen is not scanned.
PERIOD_CHOICE_SQL = """
WITH history AS (SELECT min(month) AS lo, max(month) + 31 AS hi FROM reports_payables_month),
choice AS (
    SELECT COALESCE((least(hi, %(m_to)s) - greatest(lo, %(m_from)s)) * 2 > hi - lo, false) AS complement
      FROM history
)"""
PERIOD_MONTHS_SQL = """
SELECT seller_tax_code, invoice_status, invoices, amount FROM reports_payables_supplier_month
 WHERE month >= %(m_from)s AND month < %(m_to)s AND NOT (SELECT complement FROM choice)
UNION ALL
SELECT seller_tax_code, invoice_status, invoices, amount FROM reports_payables_supplier
 WHERE (SELECT complement FROM choice)
UNION ALL
SELECT seller_tax_code, invoice_status, -invoices, -amount FROM reports_payables_supplier_month
 WHERE month < %(m_from)s AND (SELECT complement FROM choice)
UNION ALL
SELECT seller_tax_code, invoice_status, -invoices, -amount FROM reports_payables_supplier_month
 WHERE month >= %(m_to)s AND (SELECT complement FROM choice)"""
EDGE_SQL = (
    "SELECT seller_tax_code, status, 1, total_payable * exchange_rate FROM invoices"
    " WHERE status <> 'redundant' AND issue_date >= %(d_from{i})s AND issue_date < %(d_to{i})s"
)


def _month_after(day: date) -> date | None:
    """The first day of the month after `day`'s (None past the calendar's end)."""
    if day.month < 12:
        return date(day.year, day.month + 1, 1)
    return date(day.year + 1, 1, 1) if day.year < date.max.year else None


def _split_period(
    date_from: date | None, date_to: date | None
) -> tuple[tuple[date | None, date | None] | None, list[tuple[date, date]]]:
    """An inclusive day period as the whole months the rollup answers, `[m_from, m_to)` (None: no
    bound; no months at all when the period holds none), and the day ranges `[from, to)` at its
    edges that only the raw invoices answer."""
    end = date_to + timedelta(days=1) if date_to and date_to < date.max else None
    m_from = date_from if date_from is None or date_from.day == 1 else _month_after(date_from)
    m_to = end.replace(day=1) if end else None
    if date_from is not None and m_from is None:  # a start in the calendar's last month
        return None, [(date_from, end or date.max)]
    if m_from is not None and m_to is not None and m_from >= m_to:
        return None, [(date_from or date.min, end or date.max)]
    edges = []
    if date_from is not None and m_from is not None and date_from < m_from:
        edges.append((date_from, m_from))
    if end is not None and m_to is not None and m_to < end:
        edges.append((m_to, end))
    return (m_from, m_to), edges


def payables_by_supplier(*, date_from: date | None, date_to: date | None, top: int) -> ReportResult:
    """The `top` suppliers (seller tax code) by outstanding amount (not yet paid), invoices
    issued within the optional period."""
    # The ranking sums rollup rows (per supplier and invoice status: all time, or the period's whole
    # months) and, for the partial months at the edges of a period, the raw invoices of those days
    # (the issue_date index). Paid = the invoice is completed (the PR services complete an invoice
    # exactly when its PR is completed, and reopen it when the PR is un-completed).
    whole_months, edges = _split_period(date_from, date_to)
    parts: list[str] = []
    args: dict[str, Any] = {"top": top}
    if whole_months is not None:
        m_from, m_to = whole_months
        if m_from is None and m_to is None:
            parts.append("SELECT seller_tax_code, invoice_status, invoices, amount FROM reports_payables_supplier")
        else:
            args.update(m_from=m_from or date.min, m_to=m_to or date.max)
            parts.append(PERIOD_MONTHS_SQL)
    for i, (day_from, day_to) in enumerate(edges):
        args.update({f"d_from{i}": day_from, f"d_to{i}": day_to})
        parts.append(EDGE_SQL.format(i=i))
    with connection.cursor() as cursor:
        months = PERIOD_CHOICE_SQL if "m_from" in args else ""
        cursor.execute(SUPPLIER_SQL.format(months=months, parts=" UNION ALL ".join(parts)), args)
        columns = [c.name for c in cursor.description]
        rows = [dict(zip(columns, r, strict=True)) for r in cursor.fetchall()]
    # The names in a second query on the few codes chosen (the seller's latest spelling wins ties by
    # MAX): the ranking itself then reads only the narrow covering index of invoices.
    names = (
        dict(
            Invoice.objects.filter(seller_tax_code__in=[r["seller_tax_code"] for r in rows])
            .values("seller_tax_code")
            .annotate(name=Max("seller_name"))
            .values_list("seller_tax_code", "name")
            .order_by()
        )
        if rows
        else {}
    )
    out = [
        {
            "tax_code": r["seller_tax_code"],
            "name": names.get(r["seller_tax_code"], ""),
            "count": int(r["count"]),
            "outstanding_count": int(r["outstanding_count"]),
            "outstanding": _money(r["outstanding"]),
            "paid": _money(r["paid"]),
            "total": _money(r["total"]),
        }
        for r in rows
    ]
    return ReportResult(
        key="payables-by-supplier",
        title=_("Payables by supplier"),
        columns=[
            ("tax_code", _("Tax code")),
            ("name", _("Supplier")),
            ("count", _("Invoices")),
            ("outstanding_count", _("Unpaid invoices")),
            ("outstanding", _("Unpaid (VND)")),
            ("paid", _("Paid (VND)")),
            ("total", _("Total (VND)")),
        ],
        rows=out,
        params={
            "from": date_from.isoformat() if date_from else None,
            "to": date_to.isoformat() if date_to else None,
            "top": top,
        },
    )


# --- aging ----------------------------------------------------------------------------------------------
BUCKET_KEYS = [key for key, _label in AGING_BUCKETS]


def aging(*, as_of: date) -> ReportResult:
    """Unlinked invoices by days since their issue date, and approved-unpaid PRs by days since
    their oldest linked invoice's issue date (or, without invoices, their approval date: the local
    date of the last approval record). Ages ≤ 30 (future dates included) fall in 0-30."""
    # Unlinked invoices from the per-issue-date rollup: one row per day of history, not per invoice.
    invoice_rows = (
        UnlinkedInvoicesDay.objects.annotate(
            bucket=AgeBucket(DaysBetween(Value(as_of, output_field=DateField()), F("issue_date")))
        )
        .values("bucket")
        .annotate(count=Sum("invoices"), amount=Sum("amount"))
        .exclude(count=0)
        .order_by()
    )
    # A PR's age needs its oldest invoice first (an aggregate per PR), then a bucket over that: the
    # ORM runs the per-PR aggregate as a subquery (hash joins, no per-PR probe) and the outer query
    # counts and sums each bucket with FILTER. The approval-date fallback is a correlated subquery
    # that COALESCE evaluates only for PRs without invoices.
    approved_on = Subquery(
        ApprovalRecord.objects.filter(approval_id=OuterRef("approval_id"))
        .order_by("-approved_at")
        .annotate(day=TruncDate("approved_at", tzinfo=LOCAL_TZ))
        .values("day")[:1],
        output_field=DateField(),
    )
    per_pr = (
        PaymentRequest.objects.filter(status=S.APPROVED)
        .annotate(oldest_invoice=Min("invoice_links__invoice__issue_date"))
        .annotate(
            bucket=AgeBucket(
                DaysBetween(
                    Value(as_of, output_field=DateField()),
                    Coalesce("oldest_invoice", approved_on, output_field=DateField()),
                )
            )
        )
    )
    totals = per_pr.aggregate(
        **{
            name: aggregate
            for i in range(len(BUCKET_KEYS))
            for name, aggregate in (
                (f"count_{i}", Count("id", filter=Q(bucket=i))),
                (f"amount_{i}", Sum("amount", filter=Q(bucket=i), output_field=MONEY)),
            )
        }
    )
    pr_rows = [
        {"bucket": i, "count": totals[f"count_{i}"], "amount": totals[f"amount_{i}"]}
        for i in range(len(BUCKET_KEYS))
        if totals[f"count_{i}"]
    ]
    cells: dict[tuple[str, str], tuple[int, Decimal]] = {}
    for kind, source in (("invoice", invoice_rows), ("pr", pr_rows)):
        for row in source:
            cells[(BUCKET_KEYS[row["bucket"]], kind)] = (int(row["count"]), row["amount"] or ZERO)
    rows = []
    for bucket, label in AGING_BUCKETS:
        for kind, kind_label in AGING_KINDS:
            count, amount = cells.get((bucket, kind), (0, ZERO))
            rows.append(
                {
                    "bucket": bucket,
                    "bucket_label": str(label),
                    "kind": kind,
                    "kind_label": str(kind_label),
                    "count": count,
                    "amount": _money(amount),
                }
            )
    return ReportResult(
        key="aging",
        title=_("Aging of unpaid payables"),
        columns=[
            ("bucket", _("Age")),
            ("bucket_label", _("Age name")),
            ("kind", _("Kind")),
            ("kind_label", _("Kind name")),
            ("count", _("Count")),
            ("amount", _("Amount (VND)")),
        ],
        rows=rows,
        params={"as_of": as_of.isoformat()},
    )


# --- approval cycle time -------------------------------------------------------------------------------
def _hours(seconds: float | None) -> Decimal | None:
    if seconds is None:
        return None
    return (Decimal(str(seconds)) / Decimal(3600)).quantize(Decimal("0.01"))


# Percentiles need the rows, so the report reads a period's rows: the chains completed in it and the
# steps completed in it, from the timing facts the approval engine records as they happen (docs/approvals.md,
# "Timing"), each found by its partial `completed_at` index. The per-flow and per-step percentiles group
# differently, so this one report stays a parameterised SQL statement (a UNION of the two aggregates) rather
# than two ORM queries; it reads the columns the ORM models name.
CYCLE_TIME_SQL = """
WITH chains AS (
    SELECT a.flow_id, EXTRACT(EPOCH FROM a.completed_at - a.requested_at) AS seconds
    FROM approval a
    WHERE a.completed_at >= %(start)s AND a.completed_at < %(end)s
), steps AS (
    SELECT a.flow_id, s.number, s.name, EXTRACT(EPOCH FROM s.completed_at - s.started_at) AS seconds
    FROM approval_steps s JOIN approval a ON a.id = s.approval_id
    WHERE s.completed_at >= %(start)s AND s.completed_at < %(end)s
)
SELECT 0 AS kind, c.flow_id, f.name, NULL::int AS number, '' AS step_name, count(c.seconds) AS count,
       percentile_cont(ARRAY[0.5, 0.9]::float8[]) WITHIN GROUP (ORDER BY c.seconds) AS pct
FROM chains c LEFT JOIN approval_flows f ON f.id = c.flow_id
GROUP BY c.flow_id, f.name
UNION ALL
SELECT 1, t.flow_id, f.name, t.number, max(t.name), count(t.seconds),
       percentile_cont(ARRAY[0.5, 0.9]::float8[]) WITHIN GROUP (ORDER BY t.seconds)
FROM steps t LEFT JOIN approval_flows f ON f.id = t.flow_id
GROUP BY t.flow_id, f.name, t.number
ORDER BY kind, name NULLS FIRST, flow_id NULLS FIRST, number
"""


def approval_cycle_time(*, first: date, end_exclusive: date | None, holders_top: int = 10) -> ReportResult:
    """Request-to-approval time per flow of the chains whose approval completed in the period (months
    `first` up to `end_exclusive`, Asia/Ho_Chi_Minh), each step's time per flow and step number for the
    steps completed in the period (median and p90, `percentile_cont`: linear interpolation), and who
    holds the most pending approvals now.

    A chain's time runs from the request of its cycle to the approval that completed its last step; a
    step's from when it started (the request, or the previous step's completion) to its completion
    (docs/reports.md)."""
    from django.db import connection

    start = datetime.combine(first, datetime.min.time(), tzinfo=LOCAL_TZ)
    end = datetime.combine(end_exclusive or date.max, datetime.min.time(), tzinfo=LOCAL_TZ)
    with connection.cursor() as cursor:
        cursor.execute(CYCLE_TIME_SQL, {"start": start, "end": end})
        fetched = cursor.fetchall()
    per_flow = [r for r in fetched if r[0] == 0]
    per_step = [r for r in fetched if r[0] == 1]
    holders = approval_holders(top=holders_top)
    custom = str(_("(custom chain)"))
    flow_rows: list[dict[str, Any]] = []
    step_rows: list[dict[str, Any]] = []
    for kind, flow_id, flow_name, number, step_name, count, pct in per_flow + per_step:
        median, p90 = pct if pct else (None, None)
        (flow_rows if kind == 0 else step_rows).append(
            {
                "flow_id": flow_id,
                "flow": flow_name or custom,
                "step": number,
                "step_name": step_name,
                "count": count,
                "median_hours": _hours(median),
                "p90_hours": _hours(p90),
            }
        )
    columns = [
        ("flow_id", _("Flow id")),
        ("flow", _("Flow")),
        ("step", _("Step")),
        ("step_name", _("Step name")),
        ("count", _("Approvals")),
        ("median_hours", _("Median (hours)")),
        ("p90_hours", _("p90 (hours)")),
    ]
    last = (end_exclusive - timedelta(days=1)) if end_exclusive else date(9999, 12, 1)
    return ReportResult(
        key="approval-cycle-time",
        title=_("Approval cycle time"),
        columns=columns,
        rows=flow_rows + step_rows,
        params={"from": first.strftime("%Y-%m"), "to": last.strftime("%Y-%m")},
        sections={
            "per_flow": ReportResult(
                key="per-flow", title=_("Request to approval, per flow"), columns=columns, rows=flow_rows
            ),
            "per_step": ReportResult(key="per-step", title=_("Per step"), columns=columns, rows=step_rows),
            "holders": holders,
        },
    )


def _pending_assignments() -> Any:
    """Approver places on the current step of pending PRs that are still waiting for that approver: the
    open steps (started, not completed; a partial index holds only those) of pending PRs' chains."""
    return ApprovalStepUser.objects.filter(
        step__started_at__isnull=False,
        step__completed_at__isnull=True,
        step__approval__pr__status=S.PENDING,
    ).exclude(Exists(ApprovalRecord.objects.filter(step=OuterRef("step_id"), approver=OuterRef("user_id"))))


def approval_holders(*, top: int = 10) -> ReportResult:
    """Who holds the most pending approvals right now (assigned approvers of the current step who
    have not approved yet; delegations are not expanded)."""
    rows = list(
        _pending_assignments()
        .values("user_id", "user__email", "user__name")
        .annotate(pending=Count("id"), oldest_pr=Min("step__approval__pr__id"))
        .order_by("-pending", "user__email")[:top]
    )
    out = [
        {
            "user_id": r["user_id"],
            "email": r["user__email"],
            "name": r["user__name"],
            "pending": r["pending"],
            "oldest_pr": r["oldest_pr"],
        }
        for r in rows
    ]
    return ReportResult(
        key="holders",
        title=_("Who holds the most pending approvals"),
        columns=[
            ("user_id", _("User id")),
            ("email", _("E-mail")),
            ("name", _("Name")),
            ("pending", _("Pending approvals")),
            ("oldest_pr", _("Oldest PR")),
        ],
        rows=out,
    )


# --- admin home -------------------------------------------------------------------------------------------
def oldest_pending_approvals(*, limit: int = 5, now: datetime | None = None) -> list[dict[str, Any]]:
    """The pending PRs that have waited longest since approval was requested: their chains' recorded
    request time, read in order from the index of waiting chains (`approval_waiting_idx`)."""
    rows = list(
        PaymentRequest.objects.filter(
            status=S.PENDING, approval__requested_at__isnull=False, approval__completed_at__isnull=True
        )
        .annotate(requested_at=F("approval__requested_at"))
        .order_by("approval__requested_at", "approval_id")
        .values("id", "name", "amount", "requested_at", "approval__current_step")[:limit]
    )
    return rows


def unlinked_invoice_count() -> int:
    """Imported invoices in no payment request, whenever issued (the admin home): the sum of the
    per-issue-date rollup, a few thousand rows at most whatever the number of invoices."""
    return int(UnlinkedInvoicesDay.objects.aggregate(n=Sum("invoices"))["n"] or 0)


def home_summary(*, today: date) -> dict[str, Any]:
    """The compact block of the admin home: this month's payables by status, the oldest pending approvals."""
    first = today.replace(day=1)
    end = date(first.year + 1, 1, 1) if first.month == 12 else date(first.year, first.month + 1, 1)
    month = payables_by_month(first=first, end_exclusive=end, months=[first])
    return {
        "month": first.strftime("%Y-%m"),
        "payables": month.rows,
        "oldest_pending": oldest_pending_approvals(),
        "total_amount": sum((r["amount"] for r in month.rows), ZERO),
        "total_count": sum(r["count"] for r in month.rows),
    }


__all__ = [
    "AGING_BUCKETS",
    "AGING_KINDS",
    "PAYABLE_STATUSES",
    "ReportResult",
    "aging",
    "approval_cycle_time",
    "approval_holders",
    "home_summary",
    "oldest_pending_approvals",
    "payables_by_month",
    "payables_by_supplier",
    "unlinked_invoice_count",
]
