"""The reports by key: how each one reads its parameters and runs its query, and how a result
becomes JSON (money as strings, never floats). Views, admin pages and the bench all go through here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

from payments.reports import params as p
from payments.reports import queries as q


@dataclass(frozen=True)
class ReportSpec:
    key: str
    title: Any
    description: Any
    run: Callable[[Any], q.ReportResult]


def _by_month(params: Any) -> q.ReportResult:
    months = p.month_range(params)
    return q.payables_by_month(first=months.first, end_exclusive=months.end_exclusive, months=months.months())


def _by_supplier(params: Any) -> q.ReportResult:
    sp = p.supplier_params(params)
    return q.payables_by_supplier(date_from=sp.date_from, date_to=sp.date_to, top=sp.top)


def _aging(params: Any) -> q.ReportResult:
    return q.aging(as_of=p.as_of_param(params))


def _cycle(params: Any) -> q.ReportResult:
    months = p.month_range(params)
    return q.approval_cycle_time(first=months.first, end_exclusive=months.end_exclusive)


REPORTS: dict[str, ReportSpec] = {
    spec.key: spec
    for spec in [
        ReportSpec(
            "payables-by-month",
            _("Payables by month and status"),
            _(
                "Invoices by the month of their issue date (and PRs without invoices by their creation month), "
                "by where they stand: not in a PR, in a draft PR, pending approval, approved but unpaid, paid. "
                "Parameters: from, to (YYYY-MM)."
            ),
            _by_month,
        ),
        ReportSpec(
            "payables-by-supplier",
            _("Payables by supplier"),
            _(
                "The suppliers we owe most (unpaid invoices), with their tax codes. "
                "Parameters: from, to (YYYY-MM-DD, invoice issue date), top (1-100)."
            ),
            _by_supplier,
        ),
        ReportSpec(
            "aging",
            _("Aging of unpaid payables"),
            _(
                "Unlinked invoices and approved-unpaid PRs by days since the invoice date (a PR: its oldest "
                "invoice; an advanced PR without invoices: its approval date). Parameter: as_of (YYYY-MM-DD)."
            ),
            _aging,
        ),
        ReportSpec(
            "approval-cycle-time",
            _("Approval cycle time"),
            _(
                "Request-to-approval time per flow of the approvals completed in the period, and per step of "
                "the steps completed in it (median and 90th percentile, hours), and who holds the most pending "
                "approvals now. Parameters: from, to (YYYY-MM)."
            ),
            _cycle,
        ),
    ]
}


def plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def to_json(report: q.ReportResult) -> dict[str, Any]:
    return {
        "report": report.key,
        "title": str(report.title),
        "params": report.params,
        "columns": [{"key": key, "label": str(label)} for key, label in report.columns],
        "rows": [{key: plain(value) for key, value in row.items()} for row in report.rows],
        "sections": {name: to_json(section) for name, section in report.sections.items()},
    }
