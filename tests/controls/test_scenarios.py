"""The six attacks that used to work (issue #17), each a named regression that now fails safe.
Driven through the API as the attacker would, with set-up through the services."""

from __future__ import annotations

from decimal import Decimal

import pytest

from approvals import services as approval_services
from approvals.models import ApprovalStep
from audit.models import AuditEntry, SecurityEvent
from invoices.services import invoice_payment_details_update
from payments import services
from payments.models import PaymentRequest
from payments.services import invoice_link
from tests.payments.factories import attach_document, grant, make_invoice

pytestmark = pytest.mark.django_db
URL = "/api/payment-requests/"


def code(response) -> str:
    return response.json()["error"]["code"]


def advanced_draft(maker, amount: str, **fields):
    pr = services.payment_request_create(
        actor=maker,
        name="Tạm ứng",
        amount=amount,
        type="advanced",
        bank_name="Vietcombank",
        bank_account="0071000111222",
        account_name="CÔNG TY TNHH NHÀ CUNG CẤP",
        **fields,
    )
    attach_document(pr, maker)
    return pr


def approvers_of(pr, number: int) -> list[int]:
    return sorted(ApprovalStep.objects.get(approval__pr=pr, number=number).approvers.values_list("pk", flat=True))


def test_scenario_1_finance_user_cannot_pay_herself_through_a_colleagues_draft(company, client_for):
    """She edited a colleague's draft (bank details, amount, a one-step chain naming herself),
    requested approval, approved it and completed it: 120,000,000 VND to her own account."""
    draft = advanced_draft(company.colleague, "1000000")
    me = client_for(company.chief)
    r = me.patch(
        f"{URL}{draft.pk}/",
        {
            "bank_account": "9999000111",
            "account_name": "LE THI THU",
            "amount": "120000000",
            "steps": [{"name": "Duyệt", "mode": "anyof", "approvers": [company.chief.pk]}],
        },
        format="json",
    )
    assert (r.status_code, code(r)) == (403, "CUSTOM_CHAIN_NOT_ALLOWED")
    assert PaymentRequest.objects.get(pk=draft.pk).bank_account == "0071000111222"
    r = me.patch(
        f"{URL}{draft.pk}/",
        {"bank_account": "9999000111", "account_name": "LE THI THU", "amount": "120000000"},
        format="json",
    )
    assert r.status_code == 200
    assert me.post(f"{URL}{draft.pk}/request-approval/").status_code == 200
    # The chain is the large-amount flow; she prepared the request, so her step went to the alternate.
    assert approvers_of(draft, 1) == [company.owner.pk]
    r = me.post(f"{URL}{draft.pk}/approve/")
    assert r.status_code == 403
    assert code(r) in {"SELF_APPROVAL", "NOT_AN_APPROVER"}
    r = me.post(f"{URL}{draft.pk}/complete/", {"payment_reference": "FT1"}, format="json")
    assert (r.status_code, code(r)) == (409, "INVALID_STATE")
    assert PaymentRequest.objects.get(pk=draft.pk).status == "pending"
    preparers = set(PaymentRequest.objects.get(pk=draft.pk).preparers.values_list("user_id", flat=True))
    assert preparers == {company.colleague.pk, company.chief.pk}


def test_scenario_2_maker_cannot_choose_own_approvers(company, client_for):
    """Inline steps or any active flow overrode the amount's flow: 900,000,000 VND through one colleague."""
    clerk = client_for(company.clerk)
    base = {"name": "Mua xe", "type": "advanced", "amount": "900000000", "bank_account": "1", "account_name": "A"}
    r = clerk.post(URL, {**base, "steps": [{"mode": "anyof", "approvers": [company.colleague.pk]}]}, format="json")
    assert (r.status_code, code(r)) == (403, "CUSTOM_CHAIN_NOT_ALLOWED")
    r = clerk.post(URL, {**base, "flow": company.small.pk}, format="json")
    assert (r.status_code, code(r)) == (403, "CUSTOM_CHAIN_NOT_ALLOWED")
    assert not PaymentRequest.objects.exists()
    # Even with the owner-granted permission, the custom chain must contain the amount's flow.
    grant(company.clerk, "approvals.customize_chain")
    r = clerk.post(URL, {**base, "flow": company.small.pk}, format="json")
    assert r.status_code == 201
    pr = PaymentRequest.objects.get(pk=r.json()["id"])
    attach_document(pr, company.clerk)
    r = clerk.post(f"{URL}{pr.pk}/request-approval/")
    assert (r.status_code, code(r)) == (409, "CHAIN_BELOW_POLICY")  # the state refuses it: the chain must change first
    # Without a custom chain the request takes the large flow: three people, two steps.
    r = clerk.patch(f"{URL}{pr.pk}/", {"flow": None}, format="json")
    assert r.status_code == 200, r.json()
    assert clerk.post(f"{URL}{pr.pk}/request-approval/").status_code == 200
    assert approvers_of(pr, 1) == [company.chief.pk]
    assert approvers_of(pr, 2) == sorted([company.director.pk, company.deputy.pk])


def test_scenario_3_amount_is_derived_from_the_invoices(company, client_for, settings):
    """A 1,000,000 VND draft linked to a 936,285,000 VND invoice went through the small flow and was
    exported as 1,000,000 while the payables report counted 936,285,000."""
    clerk = client_for(company.clerk)
    r = clerk.post(URL, {"name": "NCC", "type": "direct", "amount": "1000000"}, format="json")
    assert (r.status_code, code(r)) == (400, "AMOUNT_FROM_INVOICES")
    pr = services.payment_request_create(actor=company.clerk, name="NCC", type="direct")
    invoice = make_invoice(total="936285000")
    r = client_for(company.clerk).post(f"/api/invoices/{invoice.pk}/link/", {"pr": pr.pk}, format="json")
    assert r.status_code == 200, r.content
    r = clerk.patch(f"{URL}{pr.pk}/", {"amount": "1000000"}, format="json")
    assert (r.status_code, code(r)) == (400, "AMOUNT_FROM_INVOICES")
    assert clerk.post(f"{URL}{pr.pk}/request-approval/").json()["amount"] == "936285000.00"
    pr.refresh_from_db()
    assert pr.approval.flow == company.large
    services.payment_request_approve(pr=pr, actor=company.chief)
    services.payment_request_approve(pr=pr, actor=company.director)
    services.payment_request_approve(pr=pr, actor=company.deputy)
    export = client_for(company.clerk).get("/api/workbench/export/", {"ids": str(pr.pk), "format": "csv"})
    assert export.status_code == 200
    assert "936285000.00" in b"".join(export.streaming_content).decode("utf-8-sig")


def test_scenario_4_payee_cannot_change_after_approval(company, client_for):
    """Invoice payment details stayed editable while the request was pending or approved, and the
    export read them live: an approved request was exported paying an account nobody approved."""
    invoice = make_invoice(total="11000000", bank_account="0451000123456")
    pr = services.payment_request_create(actor=company.clerk, name="Tiền điện", type="direct")
    invoice_link(invoice=invoice, pr=pr, actor=company.clerk)
    services.payment_request_request_approval(pr=pr, actor=company.clerk)
    client = client_for(company.colleague)
    url = f"/api/invoices/{invoice.pk}/payment-details/"
    r = client.patch(url, {"payment_bank_account": "9999"}, format="json")
    assert (r.status_code, code(r)) == (409, "PAYEE_FROZEN")
    services.payment_request_approve(pr=pr, actor=company.director)
    r = client.patch(url, {"payment_bank_account": "9999"}, format="json")
    assert (r.status_code, code(r)) == (409, "PAYEE_FROZEN")
    invoice.refresh_from_db()
    assert invoice.payment_bank_account == "0451000123456"
    detail = client.get(f"{URL}{pr.pk}/").json()
    assert detail["bank_details"]["bank_account"] == "0451000123456" and detail["bank_details"]["frozen"] is True
    export = client.get("/api/workbench/export/", {"ids": str(pr.pk), "format": "csv"})
    assert export.status_code == 200, export.content
    text = b"".join(export.streaming_content).decode("utf-8-sig")
    assert "0451000123456" in text and "9999" not in text


def test_scenario_5_chief_accountants_own_request_reaches_her_alternate(company):
    """She is the only approver of step 1 and the self-approval rule refused her: the request hung in
    pending with no warning. Now her step goes to the flow's alternate; with no alternate the
    request is refused up front, naming the step."""
    pr = advanced_draft(company.chief, "75000000")
    services.payment_request_request_approval(pr=pr, actor=company.chief)
    assert approvers_of(pr, 1) == [company.owner.pk]
    services.payment_request_approve(pr=pr, actor=company.owner)
    services.payment_request_approve(pr=pr, actor=company.director)
    assert services.payment_request_approve(pr=pr, actor=company.deputy).status == "approved"

    approval_services.approval_flow_update(
        flow=company.large,
        actor=company.owner,
        steps=[
            {"name": "Kế toán trưởng", "mode": "anyof", "approvers": [company.chief]},
            {"name": "Ban giám đốc", "mode": "allof", "approvers": [company.director, company.deputy]},
        ],
    )
    stuck = advanced_draft(company.chief, "80000000")
    with pytest.raises(Exception) as info:
        services.payment_request_request_approval(pr=stuck, actor=company.chief)
    assert info.value.code == "NO_ELIGIBLE_APPROVER" and info.value.details["step"] == 1
    assert "Kế toán trưởng" in str(info.value.message)
    assert PaymentRequest.objects.get(pk=stuck.pk).status == "draft"


def test_scenario_6_uncomplete_needs_permission_reason_and_is_recorded(company, client_for):
    """Un-complete was one click, with no reason and no confirmation."""
    pr = advanced_draft(company.clerk, "5000000")
    services.payment_request_request_approval(pr=pr, actor=company.clerk)
    services.payment_request_approve(pr=pr, actor=company.director)
    services.payment_request_complete(pr=pr, actor=company.colleague, payment_reference="FT26001")
    finance = client_for(company.colleague)
    r = finance.post(f"{URL}{pr.pk}/uncomplete/", {"reason": "Ngân hàng trả lại"}, format="json")
    assert (r.status_code, code(r)) == (403, "PERMISSION_DENIED")
    owner = client_for(company.owner)
    assert owner.post(f"{URL}{pr.pk}/uncomplete/", {}, format="json").status_code == 400
    assert owner.post(f"{URL}{pr.pk}/uncomplete/", {"reason": " "}, format="json").status_code == 400
    assert PaymentRequest.objects.get(pk=pr.pk).status == "completed"
    r = owner.post(f"{URL}{pr.pk}/uncomplete/", {"reason": "Ngân hàng trả lại: sai tên"}, format="json")
    assert r.json()["status"] == "approved"
    entry = AuditEntry.objects.get(table_name="pr", record_id=str(pr.pk), action="uncomplete")
    assert entry.metadata["reason"] == "Ngân hàng trả lại: sai tên"
    assert entry.metadata["payment_reference"] == "FT26001"
    assert SecurityEvent.objects.filter(kind="payment_uncompleted", user_id=company.owner.pk).count() == 1


def test_changed_invoice_payee_makes_its_editor_a_preparer(company):
    """Changing where an invoice is paid, even before it is bundled, is preparing its payment."""
    invoice = make_invoice(total="2000000")
    invoice_payment_details_update(invoice=invoice, actor=company.director, payment_bank_account="5555")
    pr = services.payment_request_create(actor=company.clerk, name="NCC", type="direct")
    invoice_link(invoice=invoice, pr=pr, actor=company.clerk)
    services.payment_request_request_approval(pr=pr, actor=company.clerk)
    assert approvers_of(pr, 1) == [company.deputy.pk]  # the director prepared it: left out
    pr.refresh_from_db()
    assert pr.amount == Decimal("2000000.00")
