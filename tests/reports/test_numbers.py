"""Every report's figures on the hand-built data set (tests/reports/factories.py), exactly."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from approvals.models import Approval
from payments.reports import queries
from payments.reports.params import MonthRange
from tests.reports.factories import A, B, C, at, invoice

pytestmark = pytest.mark.django_db

D = Decimal


def by_month(first: str, last: str) -> dict[tuple[str, str], tuple[int, Decimal]]:
    months = MonthRange(date.fromisoformat(first + "-01"), date.fromisoformat(last + "-01"))
    result = queries.payables_by_month(first=months.first, end_exclusive=months.end_exclusive, months=months.months())
    return {(r["month"], r["status"]): (r["count"], r["amount"]) for r in result.rows}


def test_payables_by_month(dataset):
    cells = by_month("2026-08", "2026-11")
    assert len(cells) == 4 * 5  # every month x every status, zeros included
    non_zero = {k: v for k, v in cells.items() if v[0]}
    assert non_zero == {
        ("2026-08", "approved"): (1, D("5000000.00")),  # i5 in the approved PR
        ("2026-09", "unlinked"): (1, D("1000000.00")),  # i1
        ("2026-10", "draft"): (1, D("2000000.00")),  # i2
        ("2026-10", "pending"): (1, D("3000000.00")),  # i3
        ("2026-11", "approved"): (2, D("4800000.00")),  # i4 + the advanced PR (local month)
        ("2026-11", "paid"): (1, D("6000000.00")),  # i6 (i7 is obsolete: never counted)
        ("2026-11", "unlinked"): (1, D("2500000.00")),  # i8: USD 100 x 25,000
    }
    assert all(v == (0, D("0.00")) for k, v in cells.items() if k not in non_zero)


def test_payables_by_month_period_bounds(dataset):
    cells = by_month("2026-10", "2026-10")
    assert {k: v for k, v in cells.items() if v[0]} == {
        ("2026-10", "draft"): (1, D("2000000.00")),
        ("2026-10", "pending"): (1, D("3000000.00")),
    }
    # The advanced PR was created on Oct 31 in UTC, Nov 1 in Ho Chi Minh City: it is November's.
    assert by_month("2026-11", "2026-11")[("2026-11", "approved")] == (2, D("4800000.00"))


def test_payables_by_supplier(dataset):
    rows = queries.payables_by_supplier(date_from=None, date_to=None, top=10).rows
    assert rows == [
        {
            "tax_code": B,
            "name": "Công ty B",
            "count": 3,
            "outstanding_count": 3,
            "outstanding": D("9500000.00"),
            "paid": D("0.00"),
            "total": D("9500000.00"),
        },
        {
            "tax_code": A,
            "name": "Công ty A (mới)",
            "count": 3,
            "outstanding_count": 3,
            "outstanding": D("8000000.00"),
            "paid": D("0.00"),
            "total": D("8000000.00"),
        },
        {
            "tax_code": C,
            "name": "Công ty C",
            "count": 1,
            "outstanding_count": 0,
            "outstanding": D("0.00"),
            "paid": D("6000000.00"),
            "total": D("6000000.00"),
        },
    ]


def test_payables_by_supplier_top_and_period(dataset):
    top1 = queries.payables_by_supplier(date_from=None, date_to=None, top=1).rows
    assert [r["tax_code"] for r in top1] == [B]
    october = queries.payables_by_supplier(date_from=date(2026, 10, 1), date_to=date(2026, 10, 31), top=10).rows
    assert [(r["tax_code"], r["count"], r["outstanding"]) for r in october] == [
        (B, 1, D("3000000.00")),
        (A, 1, D("2000000.00")),
    ]
    # `to` is inclusive.
    first_nov = queries.payables_by_supplier(date_from=date(2026, 11, 1), date_to=date(2026, 11, 1), top=10).rows
    assert [(r["tax_code"], r["total"]) for r in first_nov] == [(B, D("4000000.00"))]


def test_aging(dataset):
    rows = queries.aging(as_of=date(2026, 12, 1)).rows
    cells = {(r["bucket"], r["kind"]): (r["count"], r["amount"]) for r in rows if r["count"]}
    assert cells == {
        ("61-90", "invoice"): (1, D("1000000.00")),  # i1: 87 days
        ("0-30", "invoice"): (1, D("2500000.00")),  # i8: 28 days
        ("90+", "pr"): (1, D("9000000.00")),  # approved PR: oldest invoice i5, 108 days
        ("0-30", "pr"): (1, D("800000.00")),  # advanced PR: approved 2026-11-02 local, 29 days
    }
    assert len(rows) == 4 * 2


def test_aging_bucket_boundaries(db):
    for n, (issued, total) in enumerate(
        [
            ("2026-11-01", "1"),
            ("2026-10-31", "2"),
            ("2026-10-02", "4"),
            ("2026-10-01", "8"),
            ("2026-09-01", "16"),
            ("2026-08-31", "32"),
            ("2026-12-06", "64"),
        ]
    ):
        invoice(seller=f"09000000{n:02d}", name="X", issued=issued, total=total)
    rows = queries.aging(as_of=date(2026, 12, 1)).rows
    amounts = {r["bucket"]: r["amount"] for r in rows if r["kind"] == "invoice"}
    # 30 days, 31, 60, 61, 91 (Sep 1 -> Dec 1), 92; and an invoice dated 5 days ahead (counted 0-30).
    assert amounts == {"0-30": D("65.00"), "31-60": D("6.00"), "61-90": D("8.00"), "90+": D("48.00")}


YEAR_2026 = {"first": date(2026, 1, 1), "end_exclusive": date(2027, 1, 1)}


def test_approval_cycle_time(dataset):
    report = queries.approval_cycle_time(**YEAR_2026)
    assert report.params == {"from": "2026-01", "to": "2026-12"}
    flow = dataset.flow.pk
    per_flow = [
        (r["flow_id"], r["flow"], r["count"], r["median_hours"], r["p90_hours"])
        for r in report.sections["per_flow"].rows
    ]
    assert per_flow == [
        (None, "(custom chain)", 1, D("7.00"), D("7.00")),
        (flow, "Quy trình chuẩn", 2, D("9.00"), D("11.40")),  # 6 h and 12 h
    ]
    per_step = [
        (r["flow_id"], r["step"], r["count"], r["median_hours"], r["p90_hours"])
        for r in report.sections["per_step"].rows
    ]
    assert per_step == [
        (None, 1, 1, D("7.00"), D("7.00")),
        (flow, 1, 3, D("2.00"), D("3.60")),  # 1 h, 2 h, 4 h
        (flow, 2, 2, D("6.00"), D("7.60")),  # 4 h, 8 h (pending's step 2 not done)
    ]
    holders = [(r["email"], r["pending"], r["oldest_pr"]) for r in report.sections["holders"].rows]
    assert holders == [
        ("b-approver2@acountee.test", 2, dataset.prs["pending"].pk),
        ("c-approver3@acountee.test", 1, dataset.prs["pending"].pk),
    ]


def _steps(report):
    return [
        (r["flow_id"], r["step"], r["count"], r["median_hours"], r["p90_hours"])
        for r in report.sections["per_step"].rows
    ]


def test_approval_cycle_time_reads_its_period(dataset):
    flow = dataset.flow.pk
    november = queries.approval_cycle_time(first=date(2026, 11, 1), end_exclusive=date(2026, 12, 1))
    assert november.params == {"from": "2026-11", "to": "2026-11"}
    # Every chain completed in November; the pending request's first step completed in October.
    assert [(r["flow_id"], r["count"]) for r in november.sections["per_flow"].rows] == [(None, 1), (flow, 2)]
    assert _steps(november) == [
        (None, 1, 1, D("7.00"), D("7.00")),
        (flow, 1, 2, D("3.00"), D("3.80")),  # 2 h, 4 h
        (flow, 2, 2, D("6.00"), D("7.60")),
    ]
    october = queries.approval_cycle_time(first=date(2026, 10, 1), end_exclusive=date(2026, 11, 1))
    assert october.sections["per_flow"].rows == []
    assert _steps(october) == [(flow, 1, 1, D("1.00"), D("1.00"))]
    # Who holds pending approvals is now, whatever the period.
    assert october.sections["holders"].rows == november.sections["holders"].rows
    assert queries.approval_cycle_time(first=date(2027, 1, 1), end_exclusive=None).rows == []


def test_approval_cycle_time_months_are_local(dataset):
    """A chain approved at 00:30 on November 1 in Ho Chi Minh City (17:30 UTC on October 31) is November's."""
    Approval.objects.filter(pk=dataset.prs["approved"].approval_id).update(
        requested_at=at("2026-10-31 11:30"), completed_at=at("2026-10-31 17:30")
    )
    october = queries.approval_cycle_time(first=date(2026, 10, 1), end_exclusive=date(2026, 11, 1))
    november = queries.approval_cycle_time(first=date(2026, 11, 1), end_exclusive=date(2026, 12, 1))
    assert october.sections["per_flow"].rows == []
    flow = next(r for r in november.sections["per_flow"].rows if r["flow_id"] == dataset.flow.pk)
    assert (flow["count"], flow["median_hours"]) == (2, D("9.00"))  # 6 h and 12 h


def test_approval_cycle_time_default_period_is_the_last_twelve_months(dataset, monkeypatch):
    from django.http import QueryDict

    from payments.reports import registry

    monkeypatch.setattr("payments.reports.params.today", lambda: date(2027, 10, 20))
    report = registry.REPORTS["approval-cycle-time"].run(QueryDict(""))
    assert report.params == {"from": "2026-11", "to": "2027-10"}
    assert [r["count"] for r in report.sections["per_flow"].rows] == [1, 2]
    monkeypatch.setattr("payments.reports.params.today", lambda: date(2027, 11, 1))
    report = registry.REPORTS["approval-cycle-time"].run(QueryDict(""))
    assert report.params == {"from": "2026-12", "to": "2027-11"}
    assert report.sections["per_flow"].rows == []


def test_home_summary(dataset):
    summary = queries.home_summary(today=date(2026, 11, 15))
    assert summary["month"] == "2026-11"
    assert {r["status"]: (r["count"], r["amount"]) for r in summary["payables"]} == {
        "unlinked": (1, D("2500000.00")),
        "draft": (0, D("0.00")),
        "pending": (0, D("0.00")),
        "approved": (2, D("4800000.00")),
        "paid": (1, D("6000000.00")),
    }
    assert (summary["total_count"], summary["total_amount"]) == (4, D("13300000.00"))
    assert [r["id"] for r in summary["oldest_pending"]] == [dataset.prs["pending"].pk, dataset.prs["pending2"].pk]


def test_empty_database_gives_zeros(db):
    assert all(r["count"] == 0 for r in queries.aging(as_of=date(2026, 12, 1)).rows)
    assert queries.payables_by_supplier(date_from=None, date_to=None, top=10).rows == []
    report = queries.approval_cycle_time(**YEAR_2026)
    assert report.rows == [] and report.sections["holders"].rows == []
