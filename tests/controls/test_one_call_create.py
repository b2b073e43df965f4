"""`POST /api/payment-requests/from-invoices/` (issue 20): a request from invoice ids in one atomic call — the
amount from the invoices, the chain from policy (CHAIN-FROM-POLICY), all or nothing, never with an invoice whose
signature check failed (AUTHENTIC-INVOICES-ONLY), idempotent like every other write. A door of its own for the
controls, so it is tested here."""

from __future__ import annotations

from decimal import Decimal

import pytest

from invoices.models import Invoice
from payments.models import PaymentRequest, PRInvoice
from tests.payments.factories import make_invoice

pytestmark = pytest.mark.django_db
URL = "/api/payment-requests/from-invoices/"


def test_one_call_makes_the_draft_with_the_invoices_total_and_the_policy_chain(company, client_for):
    first, second = make_invoice(), make_invoice()
    response = client_for(company.clerk).post(URL, {"invoice_ids": [first.pk, second.pk]}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    pr = PaymentRequest.objects.get(pk=body["id"])
    assert pr.status == "draft" and pr.type == "direct" and pr.maker_id == company.clerk.pk
    assert pr.amount == first.total_payable + second.total_payable == Decimal(body["amount"])
    assert set(PRInvoice.objects.filter(pr=pr).values_list("invoice_id", flat=True)) == {first.pk, second.pk}
    assert first.seller_name in pr.name
    assert body["approval"]["flow"] is not None and body["approval"]["steps"]  # the flow for the amount


def test_never_with_an_invoice_whose_signature_check_failed(company, client_for):
    good, bad = make_invoice(), make_invoice()
    Invoice.objects.filter(pk=bad.pk).update(seller_signature="invalid")
    refused = client_for(company.clerk).post(URL, {"invoice_ids": [good.pk, bad.pk]}, format="json")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "INVOICE_SIGNATURE_INVALID")
    assert PaymentRequest.objects.count() == 0 and not PRInvoice.objects.exists()


def test_all_or_nothing(company, client_for):
    free, taken = make_invoice(), make_invoice()
    client = client_for(company.clerk)
    assert client.post(URL, {"invoice_ids": [taken.pk]}, format="json").status_code == 201
    before = PaymentRequest.objects.count()
    refused = client.post(URL, {"invoice_ids": [free.pk, taken.pk]}, format="json")
    assert refused.status_code == 409, refused.content
    missing = client.post(URL, {"invoice_ids": [free.pk, 10**12]}, format="json")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "INVOICE_NOT_FOUND")
    assert PaymentRequest.objects.count() == before
    assert not PRInvoice.objects.filter(invoice=free).exists()


@pytest.mark.parametrize(
    "body",
    [{}, {"invoice_ids": []}, {"invoice_ids": [0]}, {"invoice_ids": "1"}, {"invoice_ids": [1], "amount": "5"}],
    ids=["missing", "empty", "zero", "not-a-list", "unknown-field"],
)
def test_bad_bodies_are_400_and_change_nothing(company, client_for, body):
    response = client_for(company.clerk).post(URL, body, format="json")
    assert response.status_code == 400 and PaymentRequest.objects.count() == 0


def test_without_the_permission_to_make_requests_it_is_403(company, client_for):
    from tests.accounts.factories import UserFactory

    invoice = make_invoice()
    response = client_for(UserFactory()).post(URL, {"invoice_ids": [invoice.pk]}, format="json")
    assert response.status_code == 403 and not PRInvoice.objects.filter(invoice=invoice).exists()


def test_a_retry_with_the_same_idempotency_key_makes_one_request(company, client_for):
    invoice = make_invoice()
    client = client_for(company.clerk)
    first = client.post(URL, {"invoice_ids": [invoice.pk]}, format="json", HTTP_IDEMPOTENCY_KEY="k-42")
    again = client.post(URL, {"invoice_ids": [invoice.pk]}, format="json", HTTP_IDEMPOTENCY_KEY="k-42")
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert (
        PaymentRequest.objects.count() == 1 and Invoice.objects.get(pk=invoice.pk).pr_link.pr_id == first.json()["id"]
    )
