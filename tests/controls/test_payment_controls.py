"""Each invariant of docs/controls.md, by name, through every door that reaches it: the services,
the API (single and bulk), delegation, the approval queue, notifications, the bank export and the
paid-file import. The admin pages are in test_admin_doors.py."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from acountee.errors import AcounteeError
from approvals import services as approval_services
from approvals.models import ApprovalRecord, ApprovalStep
from audit.models import SecurityEvent
from invoices.services import invoice_payment_details_update
from payments import services
from payments.models import PaymentRequest
from payments.notifications.models import Notification
from payments.services import invoice_link, invoice_move, invoice_unlink, payment_request_attachment_remove
from tests.payments.factories import attach_document, grant, make_invoice

pytestmark = pytest.mark.django_db
URL = "/api/payment-requests/"


def refused(code: str, fn, **kwargs) -> AcounteeError:
    with pytest.raises(AcounteeError) as info:
        fn(**kwargs)
    assert info.value.code == code, (info.value.code, info.value.message)
    return info.value


def advanced(maker, amount: str = "5000000", **fields):
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


def direct(maker, *invoices):
    pr = services.payment_request_create(actor=maker, name="Thanh toán NCC", type="direct")
    for invoice in invoices:
        invoice_link(invoice=invoice, pr=pr, actor=maker)
    return PaymentRequest.objects.get(pk=pr.pk)


def small_flow(company) -> list[dict]:
    """The small-amount flow's step, which a custom chain for a small amount must keep."""
    return [{"name": "Ban giám đốc", "mode": "anyof", "approvers": [company.director, company.deputy]}]


def approvers_of(pr, number: int) -> list[int]:
    return sorted(ApprovalStep.objects.get(approval__pr=pr, number=number).approvers.values_list("pk", flat=True))


# --- PREPARER-NEVER-APPROVES -------------------------------------------------------------------------------------
def test_preparer_never_approves_through_the_api_single_and_bulk(company, client_for):
    """The chief accountant edits the clerk's large draft; she is then a preparer: left out of the
    chain (the owner, the step's alternate, takes her place), her approve and bulk approve refused,
    and the request is not in her queue."""
    pr = advanced(company.clerk, amount="60000000")
    services.payment_request_update(pr=pr, actor=company.chief, note="Đã kiểm tra")
    services.payment_request_request_approval(pr=pr, actor=company.clerk)
    assert approvers_of(pr, 1) == [company.owner.pk]
    director = client_for(company.chief)
    r = director.post(f"{URL}{pr.pk}/approve/")
    assert r.status_code == 403
    r = director.post(f"{URL}bulk-approve/", {"ids": [pr.pk]}, format="json")
    assert r.json()["approved"] == [] and r.json()["failed"][0]["id"] == pr.pk
    assert pr.pk not in [row["id"] for row in director.get(URL, {"awaiting_me": "true"}).json()["results"]]
    assert not ApprovalRecord.objects.filter(approval__pr=pr).exists()


def test_preparer_never_approves_even_when_named_in_a_custom_chain(company):
    """An owner-granted custom chain that names a preparer: refused up front (NO_ELIGIBLE_APPROVER),
    and if he is one of several any-of approvers, his approval is refused (SELF_APPROVAL)."""
    grant(company.clerk, "approvals.customize_chain")
    steps = [{"name": "Ban giám đốc", "mode": "anyof", "approvers": [company.director, company.deputy]}]
    alone = advanced(company.clerk, steps=[{"name": "Tự duyệt", "mode": "anyof", "approvers": [company.clerk]}])
    refused("NO_ELIGIBLE_APPROVER", services.payment_request_request_approval, pr=alone, actor=company.clerk)
    pr = advanced(
        company.clerk,
        steps=[
            {"name": "Một trong ba", "mode": "anyof", "approvers": [company.clerk, company.director, company.deputy]},
            *steps,
        ],
    )
    services.payment_request_request_approval(pr=pr, actor=company.clerk)
    refused("SELF_APPROVAL", services.payment_request_approve, pr=pr, actor=company.clerk)
    assert services.payment_requests_bulk_approve(ids=[pr.pk], actor=company.clerk).failed[0]["code"] == "SELF_APPROVAL"


def test_preparer_never_approves_as_a_substitute_nor_through_one(company):
    """The clerk stands in for the deputy: he prepared the request, so he cannot approve in the
    deputy's place. And a preparer's own place cannot be filled by his substitute."""
    today = timezone.localdate()
    approval_services.approval_delegation_create(
        actor=company.deputy, approver=company.deputy, substitute=company.clerk, start_date=today, end_date=today
    )
    pr = advanced(company.clerk)
    services.payment_request_request_approval(pr=pr, actor=company.clerk)
    refused("SELF_APPROVAL", services.payment_request_approve, pr=pr, actor=company.clerk)
    assert services.payment_requests_bulk_approve(ids=[pr.pk], actor=company.clerk).failed[0]["code"] == "SELF_APPROVAL"

    grant(company.clerk, "approvals.customize_chain")
    approval_services.approval_delegation_create(
        actor=company.chief, approver=company.chief, substitute=company.colleague, start_date=today, end_date=today
    )
    chained = advanced(
        company.clerk,
        steps=[
            {"name": "Hai người", "mode": "anyof", "approvers": [company.chief, company.deputy]},
            *small_flow(company),
        ],
    )
    services.payment_request_update(pr=chained, actor=company.chief, note="sửa")  # the chief prepares it
    services.payment_request_request_approval(pr=chained, actor=company.clerk)
    refused("SELF_APPROVAL", services.payment_request_approve, pr=chained, actor=company.colleague)
    assert services.payment_request_approve(pr=chained, actor=company.deputy).approval.current_step == 2


def test_preparer_is_not_told_as_an_approver(company):
    grant(company.clerk, "approvals.customize_chain")
    pr = advanced(
        company.clerk,
        steps=[
            {"name": "Hai người", "mode": "anyof", "approvers": [company.chief, company.director]},
            *small_flow(company),
        ],
    )
    services.payment_request_update(pr=pr, actor=company.chief, note="x")
    services.payment_request_request_approval(pr=pr, actor=company.clerk)
    told = set(Notification.objects.filter(pr=pr, kind="approval_requested").values_list("recipient_id", flat=True))
    assert told == {company.director.pk}


def test_allow_self_approval_warns_at_start_up(settings):
    """Registered with the system checks that every start (runserver, migrate, gunicorn's check) runs."""
    from django.core.checks import run_checks

    settings.ALLOW_SELF_APPROVAL = True
    assert "approvals.W001" in {m.id for m in run_checks(tags=["security"])}
    settings.ALLOW_SELF_APPROVAL = False
    assert "approvals.W001" not in {m.id for m in run_checks(tags=["security"])}


# --- AMOUNT-FROM-INVOICES / ADVANCED-NEEDS-EVIDENCE ---------------------------------------------------------------
def test_amount_from_invoices_on_link_unlink_and_move(company, client_for):
    a, b = make_invoice(total="11000000"), make_invoice(total="2200000")
    one = direct(company.clerk, a, b)
    assert one.amount == Decimal("13200000.00")
    two = direct(company.clerk)
    assert two.amount == 0
    invoice_move(invoice=b, pr=two, actor=company.clerk)
    assert PaymentRequest.objects.get(pk=one.pk).amount == Decimal("11000000.00")
    assert PaymentRequest.objects.get(pk=two.pk).amount == Decimal("2200000.00")
    invoice_unlink(invoice=a, actor=company.clerk)
    assert PaymentRequest.objects.get(pk=one.pk).amount == 0
    # an advanced request with an invoice is backed by it, too
    adv = advanced(company.clerk, amount="999")
    invoice_link(invoice=a, pr=adv, actor=company.clerk)
    assert PaymentRequest.objects.get(pk=adv.pk).amount == Decimal("11000000.00")
    r = client_for(company.clerk).patch(f"{URL}{adv.pk}/", {"amount": "10"}, format="json")
    assert (r.status_code, r.json()["error"]["code"]) == (400, "AMOUNT_FROM_INVOICES")
    r = client_for(company.clerk).patch(f"{URL}{adv.pk}/", {"amount": "11000000"}, format="json")
    assert r.status_code == 200  # the same amount is no change


def test_advanced_needs_evidence(company, client_for):
    pr = services.payment_request_create(
        actor=company.clerk, name="Tạm ứng", amount="5000000", type="advanced", bank_account="1", account_name="A"
    )
    r = client_for(company.clerk).post(f"{URL}{pr.pk}/request-approval/")
    assert (r.status_code, r.json()["error"]["code"]) == (409, "NO_SUPPORTING_DOCUMENT")
    attach_document(pr, company.clerk)
    assert client_for(company.clerk).post(f"{URL}{pr.pk}/request-approval/").status_code == 200


# --- SUBMITTED-IS-FROZEN / CHAIN-FROM-POLICY / CHAIN-FROZEN ---------------------------------------------------------
def test_submitted_is_frozen(company):
    invoice, other = make_invoice(total="3000000"), make_invoice(total="4000000")
    pr = direct(company.clerk, invoice)
    services.payment_request_request_approval(pr=pr, actor=company.clerk)
    draft = direct(company.clerk)
    refused("INVALID_STATE", services.payment_request_update, pr=pr, actor=company.clerk, note="x")
    refused("INVALID_STATE", invoice_link, invoice=other, pr=pr, actor=company.clerk)
    refused("INVALID_STATE", invoice_unlink, invoice=invoice, actor=company.clerk)
    refused("INVALID_STATE", invoice_move, invoice=invoice, pr=draft, actor=company.clerk)
    attachment = pr.attachments.create(file=make_invoice().source_file)
    refused("INVALID_STATE", payment_request_attachment_remove, pr=pr, file_id=attachment.file_id, actor=company.clerk)
    services.payment_request_approve(pr=pr, actor=company.director)
    refused(
        "PAYEE_FROZEN", invoice_payment_details_update, invoice=invoice, actor=company.clerk, payment_bank_account="1"
    )
    # back to draft only through recall / reject, which clears the approvals
    services.payment_request_retract(pr=pr, actor=company.director)
    services.payment_request_recall(pr=pr, actor=company.clerk)
    pr.refresh_from_db()
    assert pr.status == "draft" and pr.payee_bank_account == ""
    assert not ApprovalRecord.objects.filter(approval__pr=pr).exists()
    invoice_payment_details_update(invoice=invoice, actor=company.clerk, payment_bank_account="0451000999")


def test_chain_from_policy_is_rebuilt_for_the_final_amount(company):
    """The draft showed the small flow; invoices raised the amount: the large flow applies."""
    pr = direct(company.clerk, make_invoice(total="30000000"))
    assert pr.approval.flow == company.small
    invoice_link(invoice=make_invoice(total="30000000"), pr=pr, actor=company.clerk)
    services.payment_request_request_approval(pr=pr, actor=company.clerk)
    pr.refresh_from_db()
    assert pr.amount == Decimal("60000000.00") and pr.approval.flow == company.large
    assert pr.approval.steps.count() == 2


def test_chain_from_policy_refuses_an_amount_no_flow_covers(company):
    approval_services.approval_flow_update(flow=company.large, actor=company.owner, max_amount="1000000000")
    pr = advanced(company.clerk, amount="2000000000")
    refused("NO_FLOW_FOR_AMOUNT", services.payment_request_request_approval, pr=pr, actor=company.clerk)


def test_chain_frozen_against_later_flow_edits(company):
    pr = advanced(company.clerk, amount="1000000")
    services.payment_request_request_approval(pr=pr, actor=company.clerk)
    approval_services.approval_flow_update(
        flow=company.small,
        actor=company.owner,
        steps=[{"name": "Chỉ chủ", "mode": "anyof", "approvers": [company.owner]}],
    )
    assert approvers_of(pr, 1) == sorted([company.director.pk, company.deputy.pk])
    assert services.payment_request_approve(pr=pr, actor=company.deputy).status == "approved"


# --- ELIGIBLE-APPROVERS-UP-FRONT -------------------------------------------------------------------------------------
def test_eligible_approvers_up_front_inactive_and_substitutes(company):
    pr = advanced(company.clerk, amount="60000000")
    approval_services.approval_flow_update(
        flow=company.large,
        actor=company.owner,
        steps=[
            {"name": "Kế toán trưởng", "mode": "anyof", "approvers": [company.chief]},
            {"name": "Ban giám đốc", "mode": "allof", "approvers": [company.director, company.deputy]},
        ],
    )
    company.chief.is_active = False  # left after the flow was written
    company.chief.save()
    error = refused("INACTIVE_APPROVER", services.payment_request_request_approval, pr=pr, actor=company.clerk)
    assert error.details["step"] == 1
    today = timezone.localdate()
    approval_services.approval_delegation_create(
        actor=company.owner,
        approver=company.chief,
        substitute=company.colleague,
        start_date=today,
        end_date=today + datetime.timedelta(days=3),
    )
    services.payment_request_request_approval(pr=pr, actor=company.clerk)
    assert services.payment_request_approve(pr=pr, actor=company.colleague).approval.current_step == 2


def test_eligible_approvers_all_of_step_gets_an_alternate_per_missing_approver(company):
    approval_services.approval_flow_update(
        flow=company.large,
        actor=company.owner,
        steps=[
            {
                "name": "Ban giám đốc",
                "mode": "allof",
                "approvers": [company.director, company.deputy],
                "alternates": [company.owner],
            }
        ],
    )
    pr = advanced(company.director, amount="70000000")
    services.payment_request_request_approval(pr=pr, actor=company.director)
    assert approvers_of(pr, 1) == sorted([company.deputy.pk, company.owner.pk])


# --- PAYEE-FROZEN / APPROVED-IS-PAID ---------------------------------------------------------------------------------
def test_payee_frozen_in_api_and_export_even_if_changed_behind_the_services(company, client_for):
    invoice = make_invoice(total="11000000", bank_account="0451 000 123456")
    pr = direct(company.clerk, invoice)
    services.payment_request_request_approval(pr=pr, actor=company.clerk)
    services.payment_request_approve(pr=pr, actor=company.director)
    type(invoice).objects.filter(pk=invoice.pk).update(payment_bank_account="6666")  # in SQL, past the services
    body = client_for(company.clerk).get(f"{URL}{pr.pk}/").json()
    assert body["bank_details"]["bank_account"] == "0451000123456" and body["bank_details"]["frozen"]
    export = client_for(company.clerk).get("/api/workbench/export/", {"ids": str(pr.pk), "format": "csv"})
    text = b"".join(export.streaming_content).decode("utf-8-sig")
    assert "0451000123456" in text and "6666" not in text and "11000000.00" in text


def test_approved_is_paid_only_approved_requests_complete_through_the_paid_import(company, client_for):
    pending = advanced(company.clerk)
    services.payment_request_request_approval(pr=pending, actor=company.clerk)
    approved = advanced(company.clerk)
    services.payment_request_request_approval(pr=approved, actor=company.clerk)
    services.payment_request_approve(pr=approved, actor=company.director)
    upload = f"pr_id,payment_reference\n{pending.pk},FT1\n{approved.pk},FT2\n".encode()
    from django.core.files.uploadedfile import SimpleUploadedFile

    r = client_for(company.colleague).post(
        "/api/workbench/import-paid/",
        {"file": SimpleUploadedFile("paid.csv", upload, content_type="text/csv")},
        format="multipart",
    )
    assert r.status_code == 200, r.content
    assert PaymentRequest.objects.get(pk=pending.pk).status == "pending"
    paid = PaymentRequest.objects.get(pk=approved.pk)
    assert (paid.status, paid.payment_reference, paid.amount, paid.payee_bank_account) == (
        "completed",
        "FT2",
        Decimal("5000000.00"),
        "0071000111222",
    )


# --- NEW-PAYEE-FLAGGED ---------------------------------------------------------------------------------------------
def test_new_payee_flagged_everywhere_and_changed_account_shown(company, client_for):
    first = make_invoice(total="1000000", bank_account="0451000123456", seller_tax_code="0109999999")
    paid = direct(company.clerk, first)
    services.payment_request_request_approval(pr=paid, actor=company.clerk)
    paid.refresh_from_db()
    assert paid.payee_is_new and paid.previous_bank_account == ""
    assert SecurityEvent.objects.filter(kind="new_payee", details__pr=paid.pk).exists()
    services.payment_request_approve(pr=paid, actor=company.director)
    services.payment_request_complete(pr=paid, actor=company.colleague, payment_reference="FT1")

    same = direct(
        company.clerk, make_invoice(total="2000000", bank_account="0451000123456", seller_tax_code="0109999999")
    )
    services.payment_request_request_approval(pr=same, actor=company.clerk)
    same.refresh_from_db()
    assert not same.payee_is_new and same.previous_bank_account == ""

    changed_invoice = make_invoice(total="3000000", bank_account="0451000123456", seller_tax_code="0109999999")
    invoice_payment_details_update(
        invoice=changed_invoice, actor=company.colleague, payment_bank_account="9988776655", payment_bank_name="ACB"
    )
    changed = direct(company.clerk, changed_invoice)
    services.payment_request_request_approval(pr=changed, actor=company.clerk)
    changed.refresh_from_db()
    assert changed.payee_is_new and changed.previous_bank_account == "0451000123456"
    body = client_for(company.director).get(f"{URL}{changed.pk}/").json()
    assert body["payee_check"]["new"] is True
    assert body["payee_check"]["previous"]["bank_account"] == "0451000123456"
    queue = client_for(company.director).get(URL, {"awaiting_me": "true"}).json()["results"]
    assert {row["id"]: row["payee_is_new"] for row in queue} == {changed.pk: True, same.pk: False}
    note = Notification.objects.get(pr=changed, recipient=company.director, kind="approval_requested")
    assert "9988776655" in note.body and "0451000123456 (" in note.body


# --- UNCOMPLETE-CONTROLLED -----------------------------------------------------------------------------------------
def test_uncomplete_controlled_in_the_service(company):
    pr = advanced(company.clerk)
    services.payment_request_request_approval(pr=pr, actor=company.clerk)
    services.payment_request_approve(pr=pr, actor=company.director)
    services.payment_request_complete(pr=pr, actor=company.colleague, payment_reference="FT9")
    refused("PERMISSION_DENIED", services.payment_request_uncomplete, pr=pr, actor=company.colleague, reason="x")
    refused("REASON_REQUIRED", services.payment_request_uncomplete, pr=pr, actor=company.owner, reason="")
    assert PaymentRequest.objects.get(pk=pr.pk).status == "completed"
    grant(company.colleague, "payments.uncomplete_paymentrequest")
    assert services.payment_request_uncomplete(pr=pr, actor=company.colleague, reason="Trả lại").status == "approved"


# --- ONE-APPROVAL-PER-PERSON-PER-STEP ---------------------------------------------------------------------------------
def test_one_approval_per_person_per_step_with_a_substitute_in_both_places(company):
    today = timezone.localdate()
    approval_services.approval_delegation_create(
        actor=company.director, approver=company.director, substitute=company.deputy, start_date=today, end_date=today
    )
    pr = advanced(company.clerk, amount="60000000")
    services.payment_request_request_approval(pr=pr, actor=company.clerk)
    services.payment_request_approve(pr=pr, actor=company.chief)
    services.payment_request_approve(pr=pr, actor=company.deputy)
    refused("ALREADY_APPROVED", services.payment_request_approve, pr=pr, actor=company.deputy)
    assert PaymentRequest.objects.get(pk=pr.pk).status == "pending"


# --- found by the state machine (test_stateful.py) ------------------------------------------------------------------
def test_everyone_who_changed_an_invoices_payee_is_a_preparer_not_only_the_last(company):
    """The chief typed the account, a clerk then fixed the holder's name: the chief stays a
    preparer and cannot approve the payment to the account she typed."""
    invoice = make_invoice(total="60000000")
    invoice_payment_details_update(invoice=invoice, actor=company.chief, payment_bank_account="9704000012345")
    invoice_payment_details_update(invoice=invoice, actor=company.clerk, payment_account_name="NGUYEN VAN X")
    pr = services.payment_request_create_from_invoices(actor=company.clerk, invoice_ids=[invoice.pk])
    services.payment_request_request_approval(pr=pr, actor=company.clerk)
    assert set(pr.preparers.values_list("user_id", flat=True)) == {company.clerk.pk, company.chief.pk}
    assert approvers_of(pr, 1) == [company.owner.pk]  # her step went to the alternate
    refused("NOT_AN_APPROVER", services.payment_request_approve, pr=pr, actor=company.chief)


def test_an_invoice_without_a_bank_account_is_never_paid_to_anothers_account(company):
    named = make_invoice(total="11000000", bank_account="0451000111111")
    unnamed = make_invoice(
        total="8800000", bank_account="", bank_name="", account_name="", seller_tax_code="0102222222"
    )
    pr = direct(company.clerk, named, unnamed)
    error = refused("MISSING_BANK_DETAILS", services.payment_request_request_approval, pr=pr, actor=company.clerk)
    assert {c["bank_account"] for c in error.details["candidates"]} == {"0451000111111", ""}
    assert PaymentRequest.objects.get(pk=pr.pk).status == "draft"


def test_request_approval_runs_a_fixed_number_of_queries_whatever_the_invoices(company):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for n in (1, 3):
        pr = direct(company.clerk, *[make_invoice(total="1000000") for _ in range(n)])
        with CaptureQueriesContext(connection) as queries:
            services.payment_request_request_approval(pr=pr, actor=company.clerk)
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_flow_alternates_bad_input_is_a_clear_400_and_changes_nothing(company, client_for):
    """An alternate who is also an approver of the step, or inactive, or unknown: refused, flow unchanged."""
    from approvals.models import ApprovalFlowStepUser

    owner = client_for(company.owner)
    url = f"/api/approval-flows/{company.small.pk}/"
    before = sorted(
        ApprovalFlowStepUser.objects.filter(step__flow=company.small).values_list("user_id", "is_alternate")
    )
    step = {"name": "Ban giám đốc", "mode": "anyof", "approvers": [company.director.pk]}
    company.chief.is_active = False
    company.chief.save()
    for alternates in ([company.director.pk], [company.chief.pk], [987654], ["x"]):
        r = owner.patch(url, {"steps": [{**step, "alternates": alternates}]}, format="json")
        assert r.status_code == 400, (alternates, r.content)
        assert r.json()["error"]["message"]
    after = sorted(ApprovalFlowStepUser.objects.filter(step__flow=company.small).values_list("user_id", "is_alternate"))
    assert after == before


def test_an_advanced_request_pays_its_invoices_account_not_one_typed_beside_them(company, client_for):
    """PAYEE-FROZEN: linking a supplier's invoice to an advanced request that names another account
    (e.g. the maker's own) is refused at approval request; the supplier's account passes."""
    pr = advanced(company.clerk, amount="1")  # typed account 0071000111222
    invoice_link(invoice=make_invoice(total="90000000", bank_account="0451 000 123456"), pr=pr, actor=company.clerk)
    r = client_for(company.clerk).post(f"{URL}{pr.pk}/request-approval/")
    assert (r.status_code, r.json()["error"]["code"]) == (409, "BANK_DETAILS_CONFLICT")
    assert r.json()["error"]["details"]["invoice_accounts"] == ["0451000123456"]
    assert PaymentRequest.objects.get(pk=pr.pk).status == "draft"
    services.payment_request_update(pr=pr, actor=company.clerk, bank_account="0451000123456")
    assert services.payment_request_request_approval(pr=pr, actor=company.clerk).payee_bank_account == "0451000123456"
