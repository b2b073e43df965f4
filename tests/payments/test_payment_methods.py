"""`/api/payment-methods/`: CRUD for finance (and admins), read for bod, nothing for outsiders;
hostile input refused with the database unchanged; query count pinned."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEntry
from payments.models import PaymentMethod
from tests.payments.factories import PaymentMethodFactory

pytestmark = pytest.mark.django_db
URL = "/api/payment-methods/"


def rows() -> list[tuple]:
    return list(PaymentMethod.objects.order_by("id").values_list("id", "name", "bank_account"))


def test_finance_crud(finance, client_for):
    client = client_for(finance)
    r = client.post(
        URL,
        {
            "name": "  Vietcombank chi lương ",
            "bank_name": "Vietcombank",
            "bank_account": "0011004123456",
            "account_name": "CTY ACOUNTEE",
        },
        format="json",
    )
    assert r.status_code == 201, r.json()
    pk = r.json()["id"]
    assert r.json()["name"] == "Vietcombank chi lương"
    assert AuditEntry.objects.filter(table_name="payment_methods", record_id=str(pk), action="INSERT").exists()
    r = client.patch(f"{URL}{pk}/", {"note": "Dùng cho lương tháng"}, format="json")
    assert r.status_code == 200 and r.json()["note"] == "Dùng cho lương tháng"
    assert client.get(f"{URL}?search=vietcombank").json()["count"] == 1
    assert client.delete(f"{URL}{pk}/").status_code == 204
    assert rows() == []


def test_bod_reads_outsider_sees_nothing(approver, outsider, client_for):
    PaymentMethodFactory()
    bod = client_for(approver)
    assert bod.get(URL).json()["count"] == 1
    assert bod.post(URL, {"name": "x"}, format="json").status_code == 403
    other = client_for(outsider)
    assert other.get(URL).status_code == 403
    assert other.post(URL, {"name": "x"}, format="json").status_code == 403


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 201},
        {"name": "x", "bank_account": "1" * 65},
        {"name": "x", "id": 5},
        {"name": "x", "evil": "<script>"},
        {"name": ["a"]},
    ],
)
def test_hostile_input(finance, client_for, payload):
    before = rows()
    r = client_for(finance).post(URL, payload, format="json")
    assert r.status_code == 400, r.json()
    assert rows() == before


def test_list_query_count_is_fixed(finance, client_for):
    for _ in range(12):
        PaymentMethodFactory()
    client = client_for(finance)
    client.get(URL)

    def count(size: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert len(client.get(f"{URL}?page_size={size}").json()["results"]) == size
        return len(ctx.captured_queries)

    assert count(2) == count(12)
