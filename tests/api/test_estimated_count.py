"""Estimated counts (issue 22): an unfiltered list of at least ESTIMATED_COUNT_FROM rows reports the planner's
estimate with `count_is_estimate: true`; any filter, or a smaller list, is counted exactly. Same query count."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from acountee.db.counts import EstimatingPaginator, estimated_count
from invoices.models import Invoice
from tests.invoices.factories import create_invoice

pytestmark = pytest.mark.django_db

URL = "/api/invoices/"


@pytest.fixture
def invoices():
    return [create_invoice(n, issue_date=date(2026, 10, 1 + n)) for n in range(1, 6)]


def test_a_small_list_is_counted_exactly(finance, client_for, invoices):
    body = client_for(finance).get(URL).json()
    assert body["count"] == 5 and body["count_is_estimate"] is False
    assert list(body)[:2] == ["count", "count_is_estimate"]


def test_an_unfiltered_list_past_the_threshold_reports_the_planners_estimate(finance, client_for, invoices, settings):
    settings.ESTIMATED_COUNT_FROM = 1
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE invoices")
    body = client_for(finance).get(URL, {"page_size": 2}).json()
    assert body["count_is_estimate"] is True
    # The planner's figure, whatever it is: PostgreSQL 15 says 5 for these 5 rows, 18 says 10 (ANALYZE inside the
    # test's transaction, and a floor on a small table's pages): an estimate, not the count.
    assert body["count"] == estimated_count(Invoice.objects.all()) >= 1
    # The page itself is read as asked; its links follow the estimate (docs/API.md).
    assert len(body["results"]) == 2 and (body["next"] is not None) == (body["count"] > 2)


def test_any_filter_makes_the_count_exact(finance, client_for, invoices, settings):
    settings.ESTIMATED_COUNT_FROM = 1
    body = client_for(finance).get(URL, {"month": "2026-10", "page_size": 2}).json()
    assert body["count_is_estimate"] is False and body["count"] == 5
    body = client_for(finance).get(URL, {"q": invoices[0].number}).json()
    assert body["count_is_estimate"] is False and body["count"] == 1


def test_the_estimate_replaces_the_count_query(finance, client_for, invoices, settings):
    """Unfiltered: one EXPLAIN (planning only) decides; below the threshold the exact count follows it."""
    client = client_for(finance)
    client.get(URL)  # warm up
    with CaptureQueriesContext(connection) as exact:
        assert client.get(URL).json()["count_is_estimate"] is False
    settings.ESTIMATED_COUNT_FROM = 1
    with CaptureQueriesContext(connection) as estimated:
        assert client.get(URL).json()["count_is_estimate"] is True
    counts = [q for q in exact.captured_queries if q["sql"].upper().startswith("SELECT COUNT(")]
    assert len(counts) == 1 and len(estimated) == len(exact) - 1
    assert any(q["sql"].startswith("EXPLAIN") for q in estimated.captured_queries)
    assert not any(q["sql"].upper().startswith("SELECT COUNT(") for q in estimated.captured_queries)
    with CaptureQueriesContext(connection) as filtered:
        assert client.get(URL, {"month": "2026-10"}).json()["count_is_estimate"] is False
    assert not any(q["sql"].startswith("EXPLAIN") for q in filtered.captured_queries)
    assert len(filtered) == len(exact) - 1  # a filter: the exact count, no EXPLAIN


def test_the_pr_list_estimates_too(finance, client_for, settings):
    settings.ESTIMATED_COUNT_FROM = 0
    body = client_for(finance).get("/api/payment-requests/").json()
    assert body["count_is_estimate"] is True
    body = client_for(finance).get("/api/payment-requests/", {"status": "draft"}).json()
    assert body["count_is_estimate"] is False and body["count"] == 0


def test_the_paginator_alone():
    assert EstimatingPaginator(Invoice.objects.all(), 10).count == 0  # not allowed to estimate: exact
    assert EstimatingPaginator([1, 2, 3], 2, estimate=True).count == 3  # a list: always exact


def test_an_estimate_below_the_real_rows_never_cuts_a_page(finance, client_for, invoices, settings, monkeypatch):
    """The planner may guess fewer rows than there are (PostgreSQL 18 did, in CI): the page still holds
    `page_size` rows; only the links follow the estimate."""
    from acountee.db import counts

    settings.ESTIMATED_COUNT_FROM = 1
    monkeypatch.setattr(counts, "estimated_count", lambda queryset: 1)  # the planner's guess, not the database
    body = client_for(finance).get(URL, {"page_size": 3}).json()
    assert body["count_is_estimate"] is True and body["count"] == 1
    assert len(body["results"]) == 3
    assert len(EstimatingPaginator(Invoice.objects.order_by("id"), 4, estimate=True).page(1).object_list) == 4
