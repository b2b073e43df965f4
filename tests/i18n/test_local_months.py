"""Months are local months (Asia/Ho_Chi_Minh, UTC+7): 2026-10-31T18:30Z is 01:30 on 1 November
in Hanoi and belongs to November; 2026-10-31T16:59:59Z is 23:59:59 on 31 October."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.conf import settings
from django.test import Client

from invoices.models import Invoice
from payments.models import PaymentRequest
from tests.payments.factories import make_invoice, make_pr

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
FIRST_OF_NOVEMBER_LOCAL = datetime.datetime(2026, 10, 31, 18, 30, tzinfo=UTC)  # 01:30 on 1 Nov in Hanoi
LAST_OF_OCTOBER_LOCAL = datetime.datetime(2026, 10, 31, 16, 59, 59, tzinfo=UTC)  # 23:59:59 on 31 Oct


def test_settings_are_local_and_aware():
    assert settings.TIME_ZONE == "Asia/Ho_Chi_Minh"
    assert settings.USE_TZ is True


@pytest.fixture
def prs(finance) -> dict[str, PaymentRequest]:
    november = make_pr(maker=finance, name="Tạm ứng đầu tháng 11")
    october = make_pr(maker=finance, name="Tạm ứng cuối tháng 10")
    PaymentRequest.objects.filter(pk=november.pk).update(created_at=FIRST_OF_NOVEMBER_LOCAL)
    PaymentRequest.objects.filter(pk=october.pk).update(created_at=LAST_OF_OCTOBER_LOCAL)
    return {"november": november, "october": october}


@pytest.mark.parametrize(("month", "expected"), [("2026-11", "november"), ("2026-10", "october")])
def test_api_month_filter_is_a_local_month(finance, client_for, prs, month, expected):
    body = client_for(finance).get("/api/payment-requests/", {"month": month}).json()
    assert [row["id"] for row in body["results"]] == [prs[expected].pk]


@pytest.mark.parametrize(
    ("month", "expected", "other"), [("2026-11", "november", "october"), ("2026-10", "october", "november")]
)
def test_admin_month_filter_is_a_local_month(finance, prs, month, expected, other):
    client = Client()
    client.force_login(finance)
    html = client.get("/admin/payments/paymentrequest/", {"month": month}).content.decode()
    assert prs[expected].name in html
    assert prs[other].name not in html


def test_invoice_imported_filter_uses_local_months(owner, monkeypatch):
    november = make_invoice(seller_name="CÔNG TY TNHH SAO MAI MIỀN BẮC")
    october = make_invoice(seller_name="CÔNG TY TNHH SAO MAI MIỀN NAM")
    Invoice.objects.filter(pk=november.pk).update(created_at=FIRST_OF_NOVEMBER_LOCAL)
    Invoice.objects.filter(pk=october.pk).update(created_at=LAST_OF_OCTOBER_LOCAL)
    # "Today" is 1 November in Hanoi (still 31 October in UTC).
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: datetime.date(2026, 11, 1))
    client = Client()
    client.force_login(owner)
    this_month = client.get("/admin/invoices/invoice/", {"imported": "this_month"}).content.decode()
    last_month = client.get("/admin/invoices/invoice/", {"imported": "last_month"}).content.decode()
    today = client.get("/admin/invoices/invoice/", {"imported": "today"}).content.decode()

    def listed(invoice: Invoice, html: str) -> bool:
        return f'href="/admin/invoices/invoice/{invoice.pk}/change/' in html

    assert listed(november, this_month) and not listed(october, this_month)
    assert listed(october, last_month) and not listed(november, last_month)
    assert listed(november, today) and not listed(october, today)


def test_workbench_month_bounds_are_local():
    from payments.workbench.selectors import Month

    start, end = Month(2026, 11).local_bounds()
    assert start == datetime.datetime(2026, 10, 31, 17, 0, tzinfo=UTC)
    assert end == datetime.datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    assert start <= FIRST_OF_NOVEMBER_LOCAL < end
    assert not start <= LAST_OF_OCTOBER_LOCAL < end


def test_report_puts_prs_without_invoices_in_their_local_month(owner_client, prs):
    response = owner_client.get(
        "/api/reports/payables-by-month/", {"from": "2026-10", "to": "2026-11", "format": "csv"}
    )
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    counts = {(r[0], r[1]): int(r[3]) for r in rows[1:]}
    assert counts[("2026-11", "draft")] == 1
    assert counts[("2026-10", "draft")] == 1
