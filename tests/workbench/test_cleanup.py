"""Invoice cleanup: a month's leftover invoices, the counts, bulk obsolete; access refusals."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from invoices.models import Invoice, InvoiceStatus
from tests.accounts.factories import TeamFactory, UserFactory
from tests.payments.factories import make_invoice, make_pr

pytestmark = pytest.mark.django_db
URL = "/api/workbench/cleanup/"
NOV = datetime.date(2026, 11, 10)


@pytest.fixture
def dataset(clerk):
    """November: 3 free imported, 1 linked, 1 obsolete, 1 completed; October: 1 free imported."""
    free = [make_invoice(issue_date=NOV + datetime.timedelta(days=i)) for i in range(3)]
    linked = make_invoice(issue_date=NOV)
    make_pr(maker=clerk, type="direct", invoices=[linked])
    obsolete = make_invoice(issue_date=datetime.date(2026, 11, 30), status=InvoiceStatus.REDUNDANT)
    completed = make_invoice(issue_date=datetime.date(2026, 11, 1), status=InvoiceStatus.COMPLETED)
    october = make_invoice(issue_date=datetime.date(2026, 10, 31))
    return {"free": free, "linked": linked, "obsolete": obsolete, "completed": completed, "october": october}


def test_list_and_counts(clerk_client, dataset):
    body = clerk_client.get(URL, {"month": "2026-11"}).json()
    assert body["month"] == "2026-11"
    assert body["counts"] == {"total": 6, "remaining": 3, "linked": 1, "cleaned": 1, "completed": 1}
    assert [r["id"] for r in body["results"]] == [i.pk for i in dataset["free"]]
    assert body["count"] == 3
    assert set(body["results"][0]) >= {"id", "series", "number", "issue_date", "seller_name", "total_payable"}


def test_mark_obsolete_result_per_invoice(clerk_client, dataset):
    free, linked = dataset["free"], dataset["linked"]
    ids = [free[0].pk, free[1].pk, linked.pk, dataset["completed"].pk, dataset["obsolete"].pk, 999999999]
    response = clerk_client.post(URL, {"ids": ids, "month": "2026-11"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    results = {r["id"]: r for r in body["results"]}
    assert [r["id"] for r in body["results"]] == ids
    assert results[free[0].pk]["result"] == results[free[1].pk]["result"] == "obsolete"
    assert results[linked.pk]["code"] == "INVOICE_LINKED"
    assert results[dataset["completed"].pk]["result"] == "failed"
    assert results[dataset["obsolete"].pk]["result"] == "failed"
    assert results[999999999]["code"] == "INVOICE_NOT_FOUND"
    assert (body["cleaned"], body["failed"]) == (2, 4)
    assert body["counts"] == {"total": 6, "remaining": 1, "linked": 1, "cleaned": 3, "completed": 1}
    again = clerk_client.get(URL, {"month": "2026-11"}).json()
    assert [r["id"] for r in again["results"]] == [free[2].pk]
    assert Invoice.objects.get(pk=linked.pk).status == InvoiceStatus.IMPORTED


@pytest.mark.parametrize(
    "month",
    [
        "",
        "2026-13",
        "2026-1",
        "abcd-ef",
        "2026-11-01",
        "0000-01",
        "\uff12\uff10\uff12\uff16-\uff11\uff11",
    ],
)
def test_bad_month(clerk_client, month):
    response = clerk_client.get(URL, {"month": month} if month else {})
    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"INVALID_MONTH", "VALIDATION_ERROR"}


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"ids": []},
        {"ids": "1,2"},
        {"ids": ["x"]},
        {"ids": [-1]},
        {"ids": [10**19]},
        {"ids": [1], "extra": 1},
        {"ids": list(range(1, 5002))},
    ],
)
def test_hostile_cleanup_input_changes_nothing(clerk_client, dataset, payload):
    before = list(Invoice.objects.order_by("id").values_list("id", "status"))
    response = clerk_client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert "error" in response.json()
    assert list(Invoice.objects.order_by("id").values_list("id", "status")) == before


def test_refusals(client_for, anon_client, finance, outsider, owner, dataset):
    # finance role but a team without the capability, no team, no role: 403 NO_WORKBENCH_ACCESS
    other_team = UserFactory(roles=["finance"], team=TeamFactory(capabilities=["reports"]))
    for user in (finance, outsider, other_team):
        client = client_for(user)
        for response in (
            client.get(URL, {"month": "2026-11"}),
            client.post(URL, {"ids": [dataset["free"][0].pk]}, format="json"),
        ):
            assert response.status_code == 403
            assert response.json()["error"]["code"] == "NO_WORKBENCH_ACCESS"
    assert anon_client.get(URL, {"month": "2026-11"}).status_code in (401, 403)
    assert Invoice.objects.get(pk=dataset["free"][0].pk).status == InvoiceStatus.IMPORTED
    # owners always have it
    assert client_for(owner).get(URL, {"month": "2026-11"}).status_code == 200


def test_capability_without_change_permission_cannot_clean(client_for, workbench_team, dataset):
    reader = UserFactory(roles=[], team=workbench_team)
    client = client_for(reader)
    assert client.get(URL, {"month": "2026-11"}).status_code == 200
    response = client.post(URL, {"ids": [dataset["free"][0].pk]}, format="json")
    assert response.status_code == 403
    assert Invoice.objects.get(pk=dataset["free"][0].pk).status == InvoiceStatus.IMPORTED


def test_list_query_count_is_fixed(clerk_client, dataset):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert clerk_client.get(URL, {"month": "2026-11"}).status_code == 200
        return len(ctx.captured_queries)

    count()  # warm-up: the first request of a token records its use
    few = count()
    for i in range(10):
        make_invoice(issue_date=NOV + datetime.timedelta(days=i % 5))
    assert count() == few == 4  # token (user and permissions joined) + page count + page + counts
