"""The invoice and PR changelists at millions of rows (issue 22): the count is the planner's estimate only when the
list is unfiltered and large (exact as soon as a search, filter or drill-down applies), and a page is read as
`pk IN (that page's ids)`, so a deep page returns the same rows as OFFSET would, in the same number of queries."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from acountee.db.counts import estimated_count
from invoices.admin import InvoiceAdmin
from invoices.models import Invoice
from tests.invoices.factories import create_invoice

pytestmark = pytest.mark.django_db
LIST = "/admin/invoices/invoice/"


@pytest.fixture
def invoices():
    return [create_invoice(n, issue_date=date(2026, 9, 1 + n)) for n in range(1, 8)]


@pytest.fixture
def clerk(finance, admin_client_for):
    return admin_client_for(finance)


def _page(response) -> list[int]:
    return [row.pk for row in response.context["cl"].result_list]


def test_every_page_holds_the_rows_offset_paging_would(clerk, invoices, monkeypatch):
    monkeypatch.setattr(InvoiceAdmin, "list_per_page", 3)
    expected = list(Invoice.objects.order_by("-issue_date", "-id").values_list("pk", flat=True))
    pages = [_page(clerk.get(LIST, {"p": p})) for p in (1, 2, 3)]
    assert pages == [expected[0:3], expected[3:6], expected[6:7]]


def test_a_deep_page_costs_the_queries_of_the_first(clerk, invoices, monkeypatch):
    monkeypatch.setattr(InvoiceAdmin, "list_per_page", 2)
    clerk.get(LIST)  # warm up
    with CaptureQueriesContext(connection) as first:
        assert clerk.get(LIST).status_code == 200
    with CaptureQueriesContext(connection) as deep:
        assert clerk.get(LIST, {"p": 4}).status_code == 200
    assert len(deep) == len(first)
    page_reads = [q["sql"] for q in deep.captured_queries if "OFFSET 6" in q["sql"]]
    assert len(page_reads) == 1 and '"invoices"."id" IN (SELECT' in page_reads[0]


def test_the_unfiltered_list_estimates_its_count_and_a_filtered_one_counts(clerk, invoices, settings):
    settings.ESTIMATED_COUNT_FROM = 1
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE invoices")
    paginator = clerk.get(LIST).context["cl"].paginator
    # The planner's figure, whatever it is (PostgreSQL 15 says 7 for these 7 rows; 18 may say more): an estimate.
    assert paginator.count_is_estimate is True and paginator.count == estimated_count(Invoice.objects.all())
    for params in ({"q": invoices[0].number}, {"status__exact": "imported"}, {"issue_date__year": "2026"}):
        paginator = clerk.get(LIST, params).context["cl"].paginator
        assert paginator.count_is_estimate is False, params


def test_below_the_threshold_the_count_is_exact(clerk, invoices):
    paginator = clerk.get(LIST).context["cl"].paginator
    assert paginator.count_is_estimate is False and paginator.count == 7


def test_the_pr_list_uses_the_same_paging(finance, admin_client_for):
    response = admin_client_for(finance).get("/admin/payments/paymentrequest/")
    assert response.status_code == 200
    assert type(response.context["cl"].paginator).__name__ == "IdPagePaginator"
