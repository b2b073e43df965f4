"""AUTHENTIC-INVOICES-ONLY (docs/controls.md): an invoice whose signature check failed — changed after its
seller signed it, or signed with a certificate of another tax code — is never put in a payment request, by
any door (the services, the API's link and move, the admin's invoice actions, creating a request from
invoices), until an owner overrides it with a reason; the override is audited."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from acountee.errors import AcounteeError
from audit.models import AuditEntry
from invoices.models import Invoice
from invoices.services import invoice_signature_override
from payments import services
from payments.models import PaymentRequest, PRInvoice
from tests.payments.factories import make_invoice

pytestmark = pytest.mark.django_db
INVOICES = "/admin/invoices/invoice/"


def tampered(**fields) -> Invoice:
    """An imported invoice whose seller signature failed (e.g. an amount edited after signing)."""
    invoice = make_invoice(**fields)
    Invoice.objects.filter(pk=invoice.pk).update(seller_signature="invalid")
    return Invoice.objects.get(pk=invoice.pk)


def foreign_signer(**fields) -> Invoice:
    """Validly signed, but with a certificate of another tax code than the seller's."""
    invoice = make_invoice(**fields)
    Invoice.objects.filter(pk=invoice.pk).update(
        seller_signature="valid", seller_certificate_matches=False, seller_certificate_tax_code="0109999999"
    )
    return Invoice.objects.get(pk=invoice.pk)


def refused_code(call, **kwargs) -> str:
    with pytest.raises(AcounteeError) as refused:
        call(**kwargs)
    return refused.value.code


def test_authentic_invoices_only_through_the_services_and_the_api(company):
    draft = services.payment_request_create(actor=company.clerk, name="NCC", type="direct")
    bad, other, good = tampered(), foreign_signer(), make_invoice()
    link = services.invoice_link
    assert refused_code(link, invoice=bad, pr=draft, actor=company.clerk) == "INVOICE_SIGNATURE_INVALID"
    assert refused_code(link, invoice=other, pr=draft, actor=company.clerk) == "INVOICE_SIGNER_NOT_SELLER"
    assert (
        refused_code(services.payment_request_create_from_invoices, actor=company.clerk, invoice_ids=[good.pk, bad.pk])
        == "INVOICE_SIGNATURE_INVALID"
    )
    assert PaymentRequest.objects.count() == 1  # nothing half-made: the whole request is refused
    api = APIClient()
    api.force_authenticate(company.clerk)
    response = api.post(f"/api/invoices/{bad.pk}/link/", {"pr": draft.pk}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "INVOICE_SIGNATURE_INVALID"
    assert not PRInvoice.objects.filter(invoice__in=[bad, other]).exists()


def test_authentic_invoices_only_when_moving_between_requests(company):
    source = services.payment_request_create(actor=company.clerk, name="A", type="direct")
    target = services.payment_request_create(actor=company.clerk, name="B", type="direct")
    invoice = make_invoice()
    services.invoice_link(invoice=invoice, pr=source, actor=company.clerk)
    Invoice.objects.filter(pk=invoice.pk).update(seller_signature="invalid")  # re-verified since: it fails
    code = refused_code(services.invoice_move, invoice=invoice, pr=target, actor=company.clerk)
    assert code == "INVOICE_SIGNATURE_INVALID"
    assert PRInvoice.objects.get(invoice=invoice).pr_id == source.pk


def test_authentic_invoices_only_through_the_admin_invoice_actions(company):
    draft = services.payment_request_create(actor=company.clerk, name="Nháp", type="direct")
    bad = tampered()
    client = Client()
    client.force_login(company.clerk)
    selected = {"apply": "1", "_selected_action": [bad.pk]}
    client.post(INVOICES, {**selected, "action": "create_payment_request", "name": "X"})
    client.post(INVOICES, {**selected, "action": "add_to_payment_request", "pr": draft.pk})
    assert not PRInvoice.objects.filter(invoice=bad).exists()
    assert PaymentRequest.objects.count() == 1


def test_authentic_invoices_only_until_an_owners_audited_override(company):
    draft = services.payment_request_create(actor=company.clerk, name="NCC", type="direct")
    bad = tampered()
    override = invoice_signature_override
    assert refused_code(override, invoice=bad, actor=company.clerk, reason="Đã gọi NCC") == "NOT_OWNER"
    invoice_signature_override(invoice=bad, actor=company.owner, reason="NCC xác nhận bằng văn bản ngày 06/12")
    services.invoice_link(invoice=Invoice.objects.get(pk=bad.pk), pr=draft, actor=company.clerk)
    assert PRInvoice.objects.filter(invoice=bad, pr=draft).exists()
    entry = AuditEntry.objects.filter(table_name="invoices", record_id=str(bad.pk), action="override_signature").get()
    assert entry.actor_user_id == company.owner.pk and "06/12" in str(entry.metadata)


def test_authentic_invoices_only_when_a_request_is_sent_for_approval(company):
    """An invoice found refused after it was linked (verify_invoice_signatures rechecks old imports) keeps its
    request from being sent for approval, through the service and the API."""
    draft = services.payment_request_create(actor=company.clerk, name="NCC", type="direct")
    invoice = make_invoice()
    services.invoice_link(invoice=invoice, pr=draft, actor=company.clerk)
    Invoice.objects.filter(pk=invoice.pk).update(seller_signature="invalid")  # checked again since: it fails
    send = services.payment_request_request_approval
    assert refused_code(send, pr=draft, actor=company.clerk) == "INVOICE_SIGNATURE_INVALID"
    api = APIClient()
    api.force_authenticate(company.clerk)
    response = api.post(f"/api/payment-requests/{draft.pk}/request-approval/", {}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "INVOICE_SIGNATURE_INVALID"
    assert PaymentRequest.objects.get(pk=draft.pk).status == "draft"
    invoice_signature_override(invoice=invoice, actor=company.owner, reason="NCC gửi lại bản gốc")
    assert send(pr=draft, actor=company.clerk).status == "pending"


def test_authentic_invoices_only_when_a_paid_request_is_recorded(company):
    """An invoice found refused after its request was approved (verify_invoice_signatures) keeps the request from
    being recorded as paid — through the service, the API, the paid-file import and the admin's complete page —
    until an owner overrides it; nothing changes on a refusal."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    draft = services.payment_request_create(actor=company.clerk, name="NCC", type="direct")
    invoice = make_invoice()
    services.invoice_link(invoice=invoice, pr=draft, actor=company.clerk)
    services.payment_request_request_approval(pr=draft, actor=company.clerk)
    services.payment_request_approve(pr=draft, actor=company.director)
    Invoice.objects.filter(pk=invoice.pk).update(seller_signature="invalid")  # checked again since: it fails
    complete = services.payment_request_complete
    assert (
        refused_code(complete, pr=draft, actor=company.colleague, payment_reference="FT1")
        == "INVOICE_SIGNATURE_INVALID"
    )
    api = APIClient()
    api.force_authenticate(company.colleague)
    response = api.post(f"/api/payment-requests/{draft.pk}/complete/", {"payment_reference": "FT1"}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "INVOICE_SIGNATURE_INVALID"
    upload = SimpleUploadedFile("paid.csv", f"pr_id,payment_reference\n{draft.pk},FT2\n".encode(), "text/csv")
    report = api.post("/api/workbench/import-paid/", {"file": upload}, format="multipart").json()
    assert [row["code"] for row in report["rows"]] == ["INVOICE_SIGNATURE_INVALID"] and report["completed"] == 0
    admin = Client()
    admin.force_login(company.colleague)
    page = admin.post(
        f"/admin/payments/paymentrequest/{draft.pk}/action/complete/", {"payment_reference": "FT3"}, follow=True
    )
    assert any("cannot be recorded as paid" in str(m) for m in page.context["messages"])
    unpaid = PaymentRequest.objects.get(pk=draft.pk)
    assert (unpaid.status, unpaid.payment_reference) == ("approved", "")
    assert Invoice.objects.get(pk=invoice.pk).status != "completed"
    invoice_signature_override(invoice=invoice, actor=company.owner, reason="NCC gửi lại bản gốc")
    assert complete(pr=draft, actor=company.colleague, payment_reference="FT4").status == "completed"
