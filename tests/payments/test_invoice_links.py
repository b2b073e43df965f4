"""Invoices in payment requests: link / unlink / move (services and `/api/invoices/{id}/…`),
direct-PR bank details, and complete / un-complete propagating to the invoices."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from acountee.errors import AcounteeError
from invoices.models import Invoice
from payments import services
from payments import services as lifecycle
from payments.models import PRInvoice
from payments.selectors import payment_request_bank_details
from tests.approvals.factories import approver_users
from tests.payments.factories import grant, make_invoice, make_pr

pytestmark = pytest.mark.django_db


def refused(code: str, fn, **kwargs) -> None:
    with pytest.raises(AcounteeError) as info:
        fn(**kwargs)
    assert info.value.code == code, (info.value.code, info.value.message)


def links() -> list[tuple[int, int]]:
    return list(PRInvoice.objects.order_by("invoice_id").values_list("invoice_id", "pr_id"))


def test_link_unlink_move(maker):
    (a,) = approver_users(1)
    inv = make_invoice()
    one = make_pr(maker=maker, steps=[("anyof", [a])], type="direct")
    two = make_pr(maker=maker, steps=[("anyof", [a])], type="direct")
    services.invoice_link(invoice=inv, pr=one, actor=maker)
    refused("ALREADY_LINKED", services.invoice_link, invoice=inv, pr=one, actor=maker)
    refused("INVOICE_ALREADY_LINKED", services.invoice_link, invoice=inv, pr=two, actor=maker)
    services.invoice_move(invoice=inv, pr=two, actor=maker)
    assert links() == [(inv.pk, two.pk)]
    refused("ALREADY_LINKED", services.invoice_move, invoice=inv, pr=two, actor=maker)
    services.invoice_unlink(invoice=inv, actor=maker)
    assert links() == []
    refused("NOT_LINKED", services.invoice_unlink, invoice=inv, actor=maker)
    refused("NOT_LINKED", services.invoice_move, invoice=inv, pr=one, actor=maker)


def test_database_keeps_an_invoice_in_one_pr(maker):
    inv = make_invoice()
    one = make_pr(maker=maker)
    two = make_pr(maker=maker)
    PRInvoice.objects.create(pr=one, invoice=inv)
    with pytest.raises(IntegrityError), transaction.atomic():
        PRInvoice.objects.create(pr=two, invoice=inv)


def test_obsolete_and_completed_invoices_are_refused(maker):
    pr = make_pr(maker=maker, type="direct")
    refused("INVALID_STATE", services.invoice_link, invoice=make_invoice(status="redundant"), pr=pr, actor=maker)
    refused("INVALID_STATE", services.invoice_link, invoice=make_invoice(status="completed"), pr=pr, actor=maker)
    assert links() == []


def test_links_change_only_in_draft(maker):
    (a,) = approver_users(1)
    inv, other = make_invoice(), make_invoice()
    pr = make_pr(maker=maker, steps=[("anyof", [a])], type="direct", invoices=[inv], request=True)
    draft = make_pr(maker=maker, type="direct")
    refused("INVALID_STATE", services.invoice_link, invoice=other, pr=pr, actor=maker)
    refused("INVALID_STATE", services.invoice_unlink, invoice=inv, actor=maker)
    refused("INVALID_STATE", services.invoice_move, invoice=inv, pr=draft, actor=maker)
    assert links() == [(inv.pk, pr.pk)]


def test_outsider_cannot_link(maker, outsider):
    pr = make_pr(maker=maker, type="direct")
    refused("NOT_MAKER", services.invoice_link, invoice=make_invoice(), pr=pr, actor=outsider)


def test_direct_pr_bank_details_and_request_rules(maker):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], type="direct")
    refused("NO_INVOICES", lifecycle.payment_request_request_approval, pr=pr, actor=maker)
    first = make_invoice(bank_account="111")
    services.invoice_link(invoice=first, pr=pr, actor=maker)
    details = payment_request_bank_details(pr)
    assert (details.bank_account, details.source, details.conflict, details.missing) == (
        "111",
        "invoices",
        False,
        False,
    )
    second = make_invoice(bank_account="222")
    services.invoice_link(invoice=second, pr=pr, actor=maker)
    assert payment_request_bank_details(pr).conflict is True
    refused("BANK_DETAILS_CONFLICT", lifecycle.payment_request_request_approval, pr=pr, actor=maker)
    services.invoice_unlink(invoice=second, actor=maker)
    Invoice.objects.filter(pk=first.pk).update(payment_bank_account="")
    assert payment_request_bank_details(pr).missing is True
    refused("MISSING_BANK_DETAILS", lifecycle.payment_request_request_approval, pr=pr, actor=maker)
    Invoice.objects.filter(pk=first.pk).update(payment_bank_account="111")
    assert lifecycle.payment_request_request_approval(pr=pr, actor=maker).status == "pending"


def test_complete_and_uncomplete_propagate_to_invoices(maker, finance):
    (a,) = approver_users(1)
    invoices = [make_invoice(), make_invoice()]
    pr = make_pr(maker=maker, steps=[("anyof", [a])], type="direct", invoices=invoices, request=True)
    lifecycle.payment_request_approve(pr=pr, actor=a)
    lifecycle.payment_request_complete(pr=pr, actor=finance, payment_reference="FT26113300")
    assert set(Invoice.objects.values_list("status", flat=True)) == {"completed"}
    grant(finance, "payments.uncomplete_paymentrequest")
    lifecycle.payment_request_uncomplete(pr=pr, actor=finance, reason="Ngân hàng trả lại")
    assert set(Invoice.objects.values_list("status", flat=True)) == {"imported"}


def test_deleting_a_draft_frees_its_invoices(maker):
    inv = make_invoice()
    pr = make_pr(maker=maker, type="direct", invoices=[inv])
    lifecycle.payment_request_delete(pr=pr, actor=maker)
    assert links() == [] and Invoice.objects.filter(pk=inv.pk).exists()


# --- API -----------------------------------------------------------------------------------------------------
def test_link_endpoints(maker, finance, outsider, client_for):
    inv = make_invoice()
    one = make_pr(maker=maker, type="direct")
    two = make_pr(maker=maker, type="direct")
    client = client_for(finance)
    r = client.post(f"/api/invoices/{inv.pk}/link/", {"pr": one.pk}, format="json")
    assert r.status_code == 200 and r.json() == {"invoice": inv.pk, "pr": one.pk}
    r = client.post(f"/api/invoices/{inv.pk}/link/", {"pr": two.pk}, format="json")
    assert (r.status_code, r.json()["error"]["code"]) == (409, "INVOICE_ALREADY_LINKED")
    r = client.post(f"/api/invoices/{inv.pk}/move/", {"pr": two.pk}, format="json")
    assert r.json() == {"invoice": inv.pk, "pr": two.pk}
    r = client.post(f"/api/invoices/{inv.pk}/unlink/")
    assert r.json() == {"invoice": inv.pk, "pr": None}
    for bad in ({}, {"pr": "x"}, {"pr": 1, "extra": 1}, {"pr": -1}):
        assert client.post(f"/api/invoices/{inv.pk}/link/", bad, format="json").status_code == 400
    r = client.post(f"/api/invoices/{inv.pk}/link/", {"pr": 987654}, format="json")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "PR_NOT_FOUND")
    r = client.post("/api/invoices/987654/link/", {"pr": one.pk}, format="json")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "INVOICE_NOT_FOUND")
    assert client_for(outsider).post(f"/api/invoices/{inv.pk}/link/", {"pr": one.pk}, format="json").status_code == 403
    assert links() == []


def test_pr_detail_lists_invoices(maker, finance, client_for):
    inv = make_invoice(total="5500000")
    pr = make_pr(maker=maker, type="direct", invoices=[inv])
    body = client_for(finance).get(f"/api/payment-requests/{pr.pk}/").json()
    assert [(i["id"], i["total_payable"]) for i in body["invoices"]] == [(inv.pk, "5500000.00")]
    assert body["invoices_total"] == "5500000.00"
    assert body["bank_details"]["source"] == "invoices"
    assert body["bank_details"]["bank_account"] == inv.payment_bank_account
