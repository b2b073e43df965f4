"""The invoice and PR back-office lists and pages read nothing that grows with the tables (issue 22): the
date drill-down probes periods instead of reading every date, the supplier filter is a tax-code box instead of a
list of every supplier, the maker filter probes per user, a filtered count stays exact, and the invoice
page runs a fixed number of queries, however many lines and history entries the invoice has."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from invoices.models import Invoice
from tests.accounts.factories import UserFactory
from tests.approvals.factories import approver_users
from tests.invoices.factories import create_invoice
from tests.payments.factories import make_pr

pytestmark = pytest.mark.django_db
LIST = "/admin/invoices/invoice/"
INVOICE_PAGE_QUERIES = 10


@pytest.fixture
def clerk(finance, admin_client_for):
    return admin_client_for(finance)


def _drill(response) -> list[str]:
    html = response.content.decode()
    if 'class="toplinks"' not in html:
        return []
    nav = html.split('class="toplinks"')[1].split("</nav>")[0]
    return [part.split(">", 1)[1].split("<", 1)[0].strip() for part in nav.split("<a href=")[1:]]


def _sql(client, url, params=None) -> tuple[object, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return response, [q["sql"] for q in captured.captured_queries]


def test_the_date_drill_down_offers_the_periods_that_hold_invoices(clerk):
    for number, day in enumerate((date(2024, 3, 5), date(2026, 2, 7), date(2026, 2, 20), date(2026, 9, 1)), 1):
        create_invoice(number, issue_date=day)
    response, sql = _sql(clerk, LIST)
    assert _drill(response) == ["2024", "2026"]  # 2025 is empty: not offered
    assert not [s for s in sql if "DISTINCT" in s and "DATE_TRUNC" in s.upper()]

    response, _ = _sql(clerk, LIST, {"issue_date__year": "2026"})
    months = _drill(response)
    assert len(months) == 1 + 2 and "2026" not in months[1:]  # back to all dates, then February and September
    assert {row.pk for row in response.context["cl"].result_list} == set(
        Invoice.objects.filter(issue_date__year=2026).values_list("pk", flat=True)
    )

    response, _ = _sql(clerk, LIST, {"issue_date__year": "2026", "issue_date__month": "2"})
    assert len(_drill(response)) == 1 + 2  # back to 2026, then the 7th and the 20th
    # The drill-down follows the other filters: the supplier of one invoice only.
    one = Invoice.objects.get(issue_date=date(2024, 3, 5))
    Invoice.objects.exclude(pk=one.pk).update(seller_tax_code="0309999999")
    response, _ = _sql(clerk, LIST, {"supplier_tax_code": one.seller_tax_code})
    assert _drill(response)[1:] == ["March 5"]  # one month left: opened at its days, as Django does
    assert [row.pk for row in response.context["cl"].result_list] == [one.pk]


def test_the_supplier_filter_is_a_box_that_keeps_the_other_parameters(clerk):
    invoice = create_invoice(1)
    create_invoice(2)
    Invoice.objects.filter(number=invoice.number).exclude(pk=invoice.pk).delete()
    response, sql = _sql(clerk, LIST, {"status__exact": "imported", "q": "x"})
    html = response.content.decode()
    assert 'name="supplier_tax_code"' in html
    assert '<input type="hidden" name="status__exact" value="imported">' in html
    assert '<input type="hidden" name="q" value="x">' in html
    assert not [s for s in sql if "DISTINCT ON" in s]

    response, _ = _sql(clerk, LIST, {"supplier_tax_code": invoice.seller_tax_code})
    html = response.content.decode()
    assert f'value="{invoice.seller_tax_code}"' in html
    assert f"({invoice.seller_tax_code})" in html  # the chosen supplier, named
    expected = set(Invoice.objects.filter(seller_tax_code=invoice.seller_tax_code).values_list("pk", flat=True))
    assert {row.pk for row in response.context["cl"].result_list} == expected


def test_a_filtered_count_is_exact_however_large(clerk, settings):
    """Issue #22: estimated counts for huge unfiltered lists, exact where the user filters."""
    for number in range(1, 8):
        create_invoice(number, issue_date=date(2026, 9, number))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE invoices")
    settings.ESTIMATED_COUNT_FROM = 1  # any list is "huge"
    unfiltered = clerk.get(LIST).context["cl"].paginator
    assert unfiltered.count_is_estimate is True
    paginator = clerk.get(LIST, {"status__exact": "imported"}).context["cl"].paginator
    assert paginator.count_is_estimate is False and paginator.count == 7


def test_the_maker_filter_lists_the_makers_of_the_requests_the_user_sees(finance, maker, admin_client_for):
    (approver,) = approver_users(1)
    other = UserFactory(roles=["finance"])
    make_pr(maker=maker, steps=[("anyof", [approver])])
    make_pr(maker=other, steps=[("anyof", [approver])])
    response, sql = _sql(admin_client_for(finance), "/admin/payments/paymentrequest/")
    spec = next(
        s for s in response.context["cl"].filter_specs if getattr(s, "parameter_name", "") == "maker__id__exact"
    )
    assert sorted(int(pk) for pk, _name in spec.lookup_choices) == sorted(
        [maker.pk, other.pk]
    )  # not finance, not approver
    assert not [s for s in sql if "SELECT DISTINCT" in s and "maker_id" in s]
    response = admin_client_for(finance).get("/admin/payments/paymentrequest/", {"maker__id__exact": maker.pk})
    assert response.status_code == 200 and len(response.context["cl"].result_list) == 1


def test_the_invoice_page_runs_the_same_queries_for_a_long_invoice_with_a_long_history(clerk):
    from invoices import services

    small = create_invoice(1, lines=1)
    big = create_invoice(2, lines=12)
    for n in range(5):  # history entries of the invoice itself
        services.invoice_payment_details_update(invoice=big, actor=None, payment_bank_account=f"00{n}")

    def count(invoice: Invoice) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert clerk.get(f"{LIST}{invoice.pk}/change/").status_code == 200
        return len(captured.captured_queries)

    count(small)  # warms the per-process caches
    assert count(small) == count(big) == INVOICE_PAGE_QUERIES
