"""The payables rollups (payments.reports.rollups, docs/adr/0012) equal the raw aggregate of the
invoices after every kind of change, whichever door it comes through: the import, links, moves,
every PR transition, obsolete/restore, deletes, bulk actions and raw SQL. The oracle is written here
with the ORM over the raw rows, independently of the triggers' SQL and of rollups.RAW_SQL."""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F, Sum

from invoices.models import Invoice
from invoices.services import invoice_mark_obsolete, invoice_restore
from payments import services
from payments.models import PaymentRequest
from payments.reports import queries, rollups
from payments.reports.models import PayablesMonth, PayablesSupplier, PayablesSupplierMonth, UnlinkedInvoicesDay
from payments.services import invoice_link, invoice_move, invoice_unlink
from tests.controls.conftest import company  # noqa: F401 - the fixture
from tests.payments.factories import grant, make_invoice

pytestmark = pytest.mark.django_db

Key = tuple[Any, ...]


def _month(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def oracle() -> dict[str, dict[Key, tuple[int, Decimal]]]:
    """Each rollup's figures from the raw rows (non-obsolete invoices, the linked PR's status)."""
    out: dict[str, dict[Key, list[Any]]] = {name: defaultdict(lambda: [0, Decimal(0)]) for name in rollups.ROLLUPS}
    rows = (
        Invoice.objects.exclude(status="redundant")
        .annotate(pr_status=F("pr_link__pr__status"), linked=F("pr_link__id"))
        .values("seller_tax_code", "issue_date", "status", "pr_status", "linked", "total_payable", "exchange_rate")
    )
    for r in rows:
        amount = r["total_payable"] * r["exchange_rate"]
        keys = {
            "reports_payables_month": (_month(r["issue_date"]), r["pr_status"] or ""),
            "reports_payables_supplier": (r["seller_tax_code"], r["status"]),
            "reports_payables_supplier_month": (r["seller_tax_code"], _month(r["issue_date"]), r["status"]),
        }
        if r["status"] == "imported" and r["linked"] is None:
            keys["reports_unlinked_invoices_day"] = (r["issue_date"],)
        for table, key in keys.items():
            out[table][key][0] += 1
            out[table][key][1] += amount
    return {table: {k: (n, a) for k, (n, a) in sums.items()} for table, sums in out.items()}


def rolled() -> dict[str, dict[Key, tuple[int, Decimal]]]:
    """Each rollup's figures: the sum of its delta rows per key."""
    out = {}
    for table, model in (
        ("reports_payables_month", PayablesMonth),
        ("reports_payables_supplier", PayablesSupplier),
        ("reports_payables_supplier_month", PayablesSupplierMonth),
        ("reports_unlinked_invoices_day", UnlinkedInvoicesDay),
    ):
        keys = rollups.ROLLUPS[table]
        sums = model.objects.values(*keys).annotate(n=Sum("invoices"), a=Sum("amount")).order_by()
        out[table] = {tuple(s[k] for k in keys): (int(s["n"]), s["a"]) for s in sums if s["n"] or s["a"]}
    return out


def raw_supplier_rows(date_from: datetime.date | None, date_to: datetime.date | None) -> list[tuple]:
    """The supplier ranking's figures straight from the invoices (the report before the rollup)."""
    per: dict[str, list[Any]] = defaultdict(lambda: [0, 0, Decimal(0), Decimal(0)])
    qs = Invoice.objects.exclude(status="redundant")
    if date_from:
        qs = qs.filter(issue_date__gte=date_from)
    if date_to:
        qs = qs.filter(issue_date__lte=date_to)
    for inv in qs:
        amount = inv.total_payable * inv.exchange_rate
        cell = per[inv.seller_tax_code]
        cell[0] += 1
        if inv.status == "completed":
            cell[3] += amount
        else:
            cell[1] += 1
            cell[2] += amount
    rows = [
        (code, n, open_n, open_amount.quantize(Decimal("0.01")), paid.quantize(Decimal("0.01")))
        for code, (n, open_n, open_amount, paid) in per.items()
    ]
    return sorted(rows, key=lambda r: (-r[3], -(r[3] + r[4]), r[0]))


def assert_consistent() -> None:
    expected = oracle()
    assert rolled() == expected
    assert rollups.rollups_check() == []
    unlinked = Invoice.objects.filter(status="imported", pr_link__isnull=True)
    assert queries.unlinked_invoice_count() == unlinked.count()
    today = datetime.date(2026, 12, 6)
    aging = {
        (r["bucket"]): (r["count"], r["amount"]) for r in queries.aging(as_of=today).rows if r["kind"] == "invoice"
    }
    raw_aging: dict[str, list[Any]] = {b: [0, Decimal(0)] for b in queries.BUCKET_KEYS}
    for inv in unlinked:
        days = (today - inv.issue_date).days
        bucket = queries.BUCKET_KEYS[0 if days <= 30 else 1 if days <= 60 else 2 if days <= 90 else 3]
        raw_aging[bucket][0] += 1
        raw_aging[bucket][1] += inv.total_payable * inv.exchange_rate
    assert aging == {b: (n, a.quantize(Decimal("0.01"))) for b, (n, a) in raw_aging.items()}
    for date_from, date_to in PERIODS:
        report = queries.payables_by_supplier(date_from=date_from, date_to=date_to, top=100).rows
        got = [(r["tax_code"], r["count"], r["outstanding_count"], r["outstanding"], r["paid"]) for r in report]
        assert got == raw_supplier_rows(date_from, date_to), (date_from, date_to)


D = datetime.date
PERIODS = [
    (None, None),
    (D(2026, 9, 15), D(2026, 11, 10)),
    (D(2026, 10, 1), D(2026, 11, 30)),
    (D(2026, 10, 2), D(2026, 10, 20)),
    (None, D(2026, 10, 31)),
    (D(2026, 10, 5), None),
]


def invoices(n: int = 4) -> list[Invoice]:
    """Invoices of two suppliers over three months, one in US dollars."""
    made = []
    for i in range(n):
        made.append(
            make_invoice(
                total=f"{1000000 * (i + 1)}",
                issue_date=D(2026, 9 + i % 3, 3 + (7 * i) % 25),
                seller_tax_code="0101234567" if i % 2 else "0309876543",
                **({"currency": "USD", "exchange_rate": Decimal("25400.5")} if i == 1 else {}),
            )
        )
    return made


def direct(maker: Any, *linked: Invoice) -> PaymentRequest:
    pr = services.payment_request_create(actor=maker, name="Thanh toán NCC", type="direct")
    for invoice in linked:
        invoice_link(invoice=invoice, pr=pr, actor=maker)
    return PaymentRequest.objects.get(pk=pr.pk)


def test_backfill_and_empty_database_agree():
    assert_consistent()


def test_every_change_keeps_the_rollups_equal_to_the_invoices(company):  # noqa: F811
    a, b, c, d = invoices()
    assert_consistent()  # import (INSERT)
    pr = direct(company.clerk, a, b)  # link
    assert_consistent()
    other = direct(company.clerk, c)
    invoice_move(invoice=b, pr=other, actor=company.clerk)  # move between PRs (UPDATE of pr_invoice)
    assert_consistent()
    invoice_unlink(invoice=b, actor=company.clerk)  # unlink
    assert_consistent()
    invoice_link(invoice=b, pr=pr, actor=company.clerk)
    services.payment_request_request_approval(pr=pr, actor=company.clerk)  # draft → pending
    assert_consistent()
    services.payment_request_recall(pr=pr, actor=company.clerk)  # pending → draft
    assert_consistent()
    services.payment_request_request_approval(pr=pr, actor=company.clerk)
    services.payment_request_reject(pr=pr, actor=company.director, reason="Thiếu chứng từ")  # pending → draft
    assert_consistent()
    services.payment_request_request_approval(pr=pr, actor=company.clerk)
    services.payment_request_approve(pr=pr, actor=company.director)  # pending → approved
    assert_consistent()
    services.payment_request_complete(pr=pr, actor=company.colleague, payment_reference="FT1")  # → completed
    assert_consistent()
    grant(company.colleague, "payments.uncomplete_paymentrequest")
    services.payment_request_uncomplete(pr=pr, actor=company.colleague, reason="Trả lại")  # completed → approved
    assert_consistent()
    invoice_mark_obsolete(invoice=d, actor=company.clerk)  # obsolete
    assert_consistent()
    invoice_restore(invoice=d, actor=company.clerk)
    assert_consistent()
    invoice_mark_obsolete(invoice=d, actor=company.clerk)
    services.payment_request_delete(pr=other, actor=company.clerk)  # delete a draft with its links
    assert_consistent()
    Invoice.objects.filter(pk=d.pk).delete()  # delete an invoice
    assert_consistent()


def test_bulk_approve_and_complete_many(company):  # noqa: F811
    made = invoices(6)
    prs = [direct(company.clerk, *made[i : i + 2]) for i in (0, 2, 4)]
    for pr in prs:
        services.payment_request_request_approval(pr=pr, actor=company.clerk)
    services.payment_requests_bulk_approve(ids=[pr.pk for pr in prs], actor=company.director)
    assert_consistent()
    outcome = services.payment_requests_complete_many(
        references={pr.pk: f"FT{pr.pk}" for pr in prs[:2]}, actor=company.colleague
    )
    assert list(outcome.values()) == [None, None]
    assert_consistent()


def test_raw_sql_on_invoices_links_and_requests(company):  # noqa: F811
    a, b, c, _d = invoices()
    pr = direct(company.clerk, a)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE invoices SET total_payable = total_payable + 1 WHERE id IN (%s, %s)", [a.pk, b.pk])
        cursor.execute("UPDATE invoices SET exchange_rate = 2, issue_date = '2026-08-31' WHERE id = %s", [c.pk])
        cursor.execute("UPDATE invoices SET seller_tax_code = '0111111111' WHERE id = %s", [b.pk])
        cursor.execute("UPDATE invoices SET status = 'completed' WHERE id = %s", [a.pk])  # inconsistent, on purpose
        assert_consistent()
        cursor.execute("UPDATE invoices SET status = 'redundant' WHERE id = %s", [c.pk])
        cursor.execute("UPDATE pr SET status = 'pending', payee_bank_account = '0071' WHERE id = %s", [pr.pk])
        assert_consistent()
        cursor.execute("INSERT INTO pr_invoice (pr_id, invoice_id, linked_at) VALUES (%s, %s, now())", [pr.pk, b.pk])
        assert_consistent()
        cursor.execute("UPDATE pr_invoice SET pr_id = %s WHERE invoice_id = %s", [direct(company.clerk).pk, b.pk])
        assert_consistent()
        cursor.execute("DELETE FROM pr_invoice WHERE pr_id = %s", [pr.pk])
        assert_consistent()
        # Foreign keys are checked at commit: a PR deleted before its links still moves its invoices out.
        doomed = direct(company.clerk, make_invoice(total="7000000"), make_invoice(total="8000000"))
        cursor.execute("DELETE FROM pr_preparers WHERE pr_id = %s", [doomed.pk])
        cursor.execute("DELETE FROM pr WHERE id = %s", [doomed.pk])  # (the state in between cannot commit)
        cursor.execute("DELETE FROM pr_invoice WHERE pr_id = %s", [doomed.pk])
        cursor.execute("UPDATE invoices SET seller_phone = seller_phone || ' '")  # no counted value changed
        assert_consistent()


def test_compaction_folds_rows_and_keeps_the_figures(company):  # noqa: F811
    a, b, *_ = invoices()
    pr = direct(company.clerk, a, b)
    for _i in range(3):
        invoice_unlink(invoice=a, actor=company.clerk)
        invoice_link(invoice=a, pr=pr, actor=company.clerk)
    before = PayablesMonth.objects.count()
    assert rollups.rollups_compact() > 0
    assert PayablesMonth.objects.count() < before
    assert_consistent()
    # one row per key, and none for a key that sums to zero
    for table, keys in rollups.ROLLUPS.items():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table} GROUP BY {', '.join(keys)} HAVING count(*) > 1")
            assert cursor.fetchall() == []
    assert not PayablesMonth.objects.filter(invoices=0).exists()


def test_check_rollups_reports_and_repairs_a_difference(company, capsys):  # noqa: F811
    invoices()
    call_command("check_rollups")
    assert "agree" in capsys.readouterr().out
    UnlinkedInvoicesDay.objects.create(issue_date=D(2026, 9, 3), invoices=5, amount=Decimal("1.5"))
    with pytest.raises(CommandError, match="1 rollup keys differ"):
        call_command("check_rollups")
    out = capsys.readouterr().out
    assert "reports_unlinked_invoices_day" in out and "2026-09-03" in out
    call_command("check_rollups", "--repair")
    assert rollups.rollups_check() == []
    assert_consistent()
