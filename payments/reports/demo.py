"""Demo step: the reports need no data of their own (they read the invoices, PRs and chains the
other demo steps made); this step prints the headline figures, so `make run` shows them working.
Team "Kế toán" holds the `reports` capability and the `bod` role holds `reports.view_reports`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def seed_reports(log: Callable[[str], Any]) -> None:
    from payments.reports import queries
    from payments.reports.params import month_range, today

    summary = queries.home_summary(today=today())
    months = month_range({})  # the report's default period: the last 12 months
    cycle = queries.approval_cycle_time(first=months.first, end_exclusive=months.end_exclusive)
    log(
        f"reports: {summary['total_count']} payables this month ({summary['total_amount']} VND), "
        f"{len(summary['oldest_pending'])} oldest pending shown, {len(cycle.sections['per_flow'].rows)} flows timed "
        "- see /admin/reports/report/ and /api/reports/…"
    )
