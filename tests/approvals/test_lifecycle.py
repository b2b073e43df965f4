"""The PR state machine through the services: every allowed and every refused transition,
anyof/allof progress, retract rules, reject/recall clearing records (kept in the audit),
segregation of duties and delegation."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from acountee.errors import AcounteeError
from approvals import services as approval_services
from approvals.models import Approval, ApprovalRecord, ApprovalStep
from audit.models import AuditEntry
from payments import services
from payments.models import PR_TRANSITIONS, PaymentRequest
from tests.accounts.factories import UserFactory
from tests.approvals.factories import approver_users, make_flow
from tests.payments.factories import grant, make_pr

pytestmark = pytest.mark.django_db


def refused(code: str, fn, **kwargs) -> AcounteeError:
    with pytest.raises(AcounteeError) as info:
        fn(**kwargs)
    assert info.value.code == code, (info.value.code, info.value.message)
    return info.value


def state(pr) -> tuple[str, int]:
    pr = PaymentRequest.objects.get(pk=pr.pk)
    return pr.status, Approval.objects.get(pr=pr).current_step


def records(pr) -> list[tuple[int, int, int]]:
    return list(
        ApprovalRecord.objects.filter(approval__pr=pr)
        .order_by("id")
        .values_list("step__number", "approver_id", "acted_by_id")
    )


def semantic(pr, action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(table_name="pr", record_id=str(pr.pk), action=action).order_by("id"))


# --- create / update / delete -----------------------------------------------------------------------
def test_create_copies_flow_steps_and_later_flow_edits_do_not_change_the_pr(owner, maker):
    a, b, c = approver_users(3)
    flow = make_flow(owner=owner, steps=[("anyof", [a, b]), ("allof", [c])])
    grant(maker, "approvals.customize_chain")
    pr = services.payment_request_create(
        actor=maker,
        name="Tiền thuê văn phòng",
        amount="10000000",
        flow=flow,
        type="advanced",
        bank_account="1",
        account_name="X",
    )
    steps = list(ApprovalStep.objects.filter(approval__pr=pr).order_by("number"))
    assert [(s.number, s.mode) for s in steps] == [(1, "anyof"), (2, "allof")]
    assert sorted(u.pk for u in steps[0].approvers.all()) == sorted([a.pk, b.pk])
    approval_services.approval_flow_update(
        flow=flow, actor=owner, steps=[{"name": "X", "mode": "anyof", "approvers": [c]}]
    )
    assert ApprovalStep.objects.filter(approval__pr=pr).count() == 2
    assert state(pr) == ("draft", 0)
    assert semantic(pr, "create_pr")


def test_create_picks_flow_by_amount_range(owner, maker):
    a, b = approver_users(2)
    small = make_flow(owner=owner, name="Nhỏ", steps=[("anyof", [a])], max_amount="50000000")
    big = make_flow(owner=owner, name="Lớn", steps=[("anyof", [a]), ("anyof", [b])], min_amount="50000000")
    pr_small = make_pr(maker=maker, amount="49999999.99")
    pr_big = make_pr(maker=maker, amount="50000000")
    assert Approval.objects.get(pr=pr_small).flow == small
    assert Approval.objects.get(pr=pr_big).flow == big
    assert ApprovalStep.objects.filter(approval__pr=pr_big).count() == 2


def test_overlapping_active_flow_ranges_are_refused(owner):
    (a,) = approver_users(1)
    make_flow(owner=owner, name="A", steps=[("anyof", [a])], min_amount="0", max_amount="100")
    refused("FLOW_RANGE_OVERLAP", make_flow, owner=owner, name="B", steps=[("anyof", [a])], min_amount="99")
    # inactive flows may overlap
    make_flow(owner=owner, name="C", steps=[("anyof", [a])], min_amount="50", is_active=False)


def test_only_owners_manage_flows(finance):
    (a,) = approver_users(1)
    refused("NOT_OWNER", make_flow, owner=finance, steps=[("anyof", [a])])


def test_inline_steps_are_validated(maker):
    (a,) = approver_users(1)
    refused("STEP_WITHOUT_APPROVERS", make_pr, maker=maker, steps=[("anyof", [])])
    refused("DUPLICATE_APPROVER", make_pr, maker=maker, steps=[("anyof", [a, a])])
    refused("VALIDATION_ERROR", make_pr, maker=maker, steps=[("sometimes", [a])])
    refused("VALIDATION_ERROR", make_pr, maker=maker, steps=[("anyof", [a])], amount="-1")
    refused("VALIDATION_ERROR", make_pr, maker=maker, steps=[("anyof", [a])], amount="NaN")
    assert PaymentRequest.objects.count() == 0


def test_update_only_in_draft_and_chain_replacement(maker):
    a, b = approver_users(2)
    pr = make_pr(maker=maker, steps=[("anyof", [a])])
    services.payment_request_update(
        pr=pr,
        actor=maker,
        name="Đổi tên",
        amount="2000000",
        steps=[{"name": "M", "mode": "allof", "approvers": [a, b]}],
    )
    pr.refresh_from_db()
    assert (pr.name, pr.amount) == ("Đổi tên", Decimal("2000000.00"))
    assert list(ApprovalStep.objects.filter(approval__pr=pr).values_list("mode", flat=True)) == ["allof"]
    services.payment_request_request_approval(pr=pr, actor=maker)
    refused("INVALID_STATE", services.payment_request_update, pr=pr, actor=maker, name="X")
    refused(
        "INVALID_STATE",
        services.payment_request_update,
        pr=pr,
        actor=maker,
        steps=[{"name": "M", "mode": "anyof", "approvers": [a]}],
    )
    assert PaymentRequest.objects.get(pk=pr.pk).name == "Đổi tên"


def test_delete_only_in_draft(maker):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    refused("INVALID_STATE", services.payment_request_delete, pr=pr, actor=maker)
    services.payment_request_recall(pr=pr, actor=maker)
    services.payment_request_delete(pr=pr, actor=maker)
    assert not PaymentRequest.objects.filter(pk=pr.pk).exists()
    assert pr.approval_id is not None and not Approval.objects.filter(pk=pr.approval_id).exists()


def test_outsider_cannot_edit_someone_elses_draft(maker, outsider):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])])
    refused("NOT_MAKER", services.payment_request_update, pr=pr, actor=outsider, name="X")
    refused("NOT_MAKER", services.payment_request_delete, pr=pr, actor=outsider)
    refused("NOT_MAKER", services.payment_request_request_approval, pr=pr, actor=outsider)


# --- request approvals -------------------------------------------------------------------------
def test_request_needs_steps_and_bank_details(maker):
    (a,) = approver_users(1)
    no_flow = make_pr(maker=maker)
    refused("NO_FLOW_FOR_AMOUNT", services.payment_request_request_approval, pr=no_flow, actor=maker)
    no_steps = make_pr(maker=maker, steps=[])
    refused("NO_APPROVAL_STEPS", services.payment_request_request_approval, pr=no_steps, actor=maker)
    no_bank = make_pr(maker=maker, steps=[("anyof", [a])], bank_account="")
    refused("MISSING_BANK_DETAILS", services.payment_request_request_approval, pr=no_bank, actor=maker)
    zero = make_pr(maker=maker, steps=[("anyof", [a])], amount="0")
    refused("INVALID_AMOUNT", services.payment_request_request_approval, pr=zero, actor=maker)
    a.is_active = False
    a.save()
    inactive = make_pr(maker=maker, steps=[("anyof", [UserFactory()])])
    ApprovalStep.objects.get(approval__pr=inactive).step_users.update(user=a)
    refused("INACTIVE_APPROVER", services.payment_request_request_approval, pr=inactive, actor=maker)
    assert set(PaymentRequest.objects.values_list("status", flat=True)) == {"draft"}


def test_request_twice_is_409(maker):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    assert state(pr) == ("pending", 1)
    refused("ALREADY_REQUESTED", services.payment_request_request_approval, pr=pr, actor=maker)
    assert len(semantic(pr, "request_approval")) == 1


# --- approve -------------------------------------------------------------------------------------------
def test_anyof_then_allof_progress(maker):
    a, b, c, d = approver_users(4)
    pr = make_pr(maker=maker, steps=[("anyof", [a, b]), ("allof", [c, d])], request=True)
    services.payment_request_approve(pr=pr, actor=b)
    assert state(pr) == ("pending", 2)
    refused("NOT_AN_APPROVER", services.payment_request_approve, pr=pr, actor=a)  # step 1 is done
    services.payment_request_approve(pr=pr, actor=c)
    assert state(pr) == ("pending", 2)
    refused("ALREADY_APPROVED", services.payment_request_approve, pr=pr, actor=c)
    services.payment_request_approve(pr=pr, actor=d)
    assert state(pr) == ("approved", 2)
    refused("ALREADY_APPROVED", services.payment_request_approve, pr=pr, actor=d)
    refused("INVALID_STATE", services.payment_request_approve, pr=pr, actor=a)
    assert records(pr) == [(1, b.pk, b.pk), (2, c.pk, c.pk), (2, d.pk, d.pk)]
    entries = semantic(pr, "approve")
    assert [e.metadata["step"] for e in entries] == [1, 2, 2]
    assert entries[-1].metadata["pr_approved"] is True


def test_approve_refusals(maker, outsider):
    (a,) = approver_users(1)
    draft = make_pr(maker=maker, steps=[("anyof", [a])])
    refused("INVALID_STATE", services.payment_request_approve, pr=draft, actor=a)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    refused("NOT_AN_APPROVER", services.payment_request_approve, pr=pr, actor=outsider)
    refused("STEP_CHANGED", services.payment_request_approve, pr=pr, actor=a, step=2)
    assert records(pr) == []


def test_maker_cannot_approve_own_pr_unless_allowed(maker, settings):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [maker, a])], request=True)
    refused("SELF_APPROVAL", services.payment_request_approve, pr=pr, actor=maker)
    settings.ALLOW_SELF_APPROVAL = True
    services.payment_request_approve(pr=pr, actor=maker)
    assert state(pr) == ("approved", 1)


def test_database_refuses_a_second_record_for_the_same_place(maker):
    a, b = approver_users(2)
    pr = make_pr(maker=maker, steps=[("allof", [a, b])], request=True)
    services.payment_request_approve(pr=pr, actor=a)
    record = ApprovalRecord.objects.get(approval__pr=pr)
    with pytest.raises(IntegrityError), transaction.atomic():
        ApprovalRecord.objects.create(approval=record.approval, step=record.step, approver=a, acted_by=b)
    with pytest.raises(IntegrityError), transaction.atomic():
        ApprovalRecord.objects.create(approval=record.approval, step=record.step, approver=b, acted_by=a)


# --- delegation ------------------------------------------------------------------------------------------
def test_delegate_acts_inside_the_window_only(maker):
    a, b, sub = approver_users(3)
    today = timezone.localdate()
    pr = make_pr(maker=maker, steps=[("allof", [a, b])], request=True)
    approval_services.approval_delegation_create(
        actor=a, approver=a, substitute=sub, start_date=today + timedelta(days=1), end_date=today + timedelta(days=5)
    )
    refused("NOT_AN_APPROVER", services.payment_request_approve, pr=pr, actor=sub)
    approval_services.approval_delegation_create(
        actor=a, approver=a, substitute=sub, start_date=today - timedelta(days=3), end_date=today
    )
    services.payment_request_approve(pr=pr, actor=sub)
    assert records(pr) == [(1, a.pk, sub.pk)]
    refused("ALREADY_APPROVED", services.payment_request_approve, pr=pr, actor=a)  # their place is filled
    refused("ALREADY_APPROVED", services.payment_request_approve, pr=pr, actor=sub)
    assert semantic(pr, "approve")[0].metadata["on_behalf_of"] == a.pk
    services.payment_request_approve(pr=pr, actor=b)
    assert state(pr) == ("approved", 1)


def test_expired_delegation_grants_nothing(maker):
    a, sub = approver_users(2)
    today = timezone.localdate()
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    approval_services.approval_delegation_create(
        actor=a, approver=a, substitute=sub, start_date=today - timedelta(days=9), end_date=today - timedelta(days=1)
    )
    refused("NOT_AN_APPROVER", services.payment_request_approve, pr=pr, actor=sub)
    refused("NOT_AN_APPROVER", services.payment_request_reject, pr=pr, actor=sub, reason="x")


def test_a_delegate_never_approves_a_pr_they_made(settings):
    settings.ALLOW_SELF_APPROVAL = True
    (a,) = approver_users(1)
    sub = UserFactory(roles=["finance"])
    today = timezone.localdate()
    approval_services.approval_delegation_create(actor=a, approver=a, substitute=sub, start_date=today, end_date=today)
    pr = make_pr(maker=sub, steps=[("anyof", [a])], request=True)
    refused("SELF_APPROVAL", services.payment_request_approve, pr=pr, actor=sub)


def test_delegation_rules(maker, owner):
    a, b = approver_users(2)
    today = timezone.localdate()
    refused(
        "NOT_DELEGATOR",
        approval_services.approval_delegation_create,
        actor=b,
        approver=a,
        substitute=b,
        start_date=today,
        end_date=today,
    )
    refused(
        "SELF_DELEGATION",
        approval_services.approval_delegation_create,
        actor=a,
        approver=a,
        substitute=a,
        start_date=today,
        end_date=today,
    )
    refused(
        "INVALID_RANGE",
        approval_services.approval_delegation_create,
        actor=a,
        approver=a,
        substitute=b,
        start_date=today,
        end_date=today - timedelta(days=1),
    )
    approval_services.approval_delegation_create(
        actor=owner, approver=a, substitute=b, start_date=today, end_date=today
    )


# --- retract --------------------------------------------------------------------------------------------
def test_retract_on_current_allof_step(maker):
    a, b = approver_users(2)
    pr = make_pr(maker=maker, steps=[("allof", [a, b])], request=True)
    services.payment_request_approve(pr=pr, actor=a)
    services.payment_request_retract(pr=pr, actor=a)
    assert records(pr) == [] and state(pr) == ("pending", 1)
    refused("NOTHING_TO_RETRACT", services.payment_request_retract, pr=pr, actor=a)


def test_retract_on_step_just_completed_moves_chain_back(maker):
    a, b, c = approver_users(3)
    pr = make_pr(maker=maker, steps=[("anyof", [a]), ("allof", [b, c])], request=True)
    services.payment_request_approve(pr=pr, actor=a)
    assert state(pr) == ("pending", 2)
    services.payment_request_retract(pr=pr, actor=a)
    assert state(pr) == ("pending", 1) and records(pr) == []
    services.payment_request_approve(pr=pr, actor=a)
    services.payment_request_approve(pr=pr, actor=b)
    # somebody approved after step 1: a can no longer withdraw it
    refused("NOTHING_TO_RETRACT", services.payment_request_retract, pr=pr, actor=a)
    assert state(pr) == ("pending", 2)


def test_retract_on_approved_pr_returns_it_to_pending(maker):
    a, b = approver_users(2)
    pr = make_pr(maker=maker, steps=[("anyof", [a]), ("anyof", [b])], request=True)
    services.payment_request_approve(pr=pr, actor=a)
    services.payment_request_approve(pr=pr, actor=b)
    assert state(pr) == ("approved", 2)
    refused("NOTHING_TO_RETRACT", services.payment_request_retract, pr=pr, actor=a)
    services.payment_request_retract(pr=pr, actor=b)
    assert state(pr) == ("pending", 2)
    assert records(pr) == [(1, a.pk, a.pk)]
    assert semantic(pr, "retract")[0].metadata["from_status"] == "approved"


def test_retract_refused_on_draft_and_completed(maker, finance):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])])
    refused("INVALID_STATE", services.payment_request_retract, pr=pr, actor=a)
    services.payment_request_request_approval(pr=pr, actor=maker)
    services.payment_request_approve(pr=pr, actor=a)
    services.payment_request_complete(pr=pr, actor=finance, payment_reference="FT1")
    refused("INVALID_STATE", services.payment_request_retract, pr=pr, actor=a)


# --- reject / recall ---------------------------------------------------------------------------------------
def test_reject_clears_records_and_keeps_them_in_audit(maker):
    a, b, c = approver_users(3)
    pr = make_pr(maker=maker, steps=[("anyof", [a]), ("allof", [b, c])], request=True)
    services.payment_request_approve(pr=pr, actor=a)
    services.payment_request_approve(pr=pr, actor=b)
    refused("REASON_REQUIRED", services.payment_request_reject, pr=pr, actor=c, reason="  ")
    refused("NOT_AN_APPROVER", services.payment_request_reject, pr=pr, actor=a, reason="x")
    services.payment_request_reject(pr=pr, actor=c, reason="Thiếu hoá đơn gốc")
    assert state(pr) == ("draft", 0) and records(pr) == []
    entry = semantic(pr, "reject")[0]
    assert entry.metadata["reason"] == "Thiếu hoá đơn gốc"
    assert [r["approver"] for r in entry.metadata["cleared_records"]] == [a.pk, b.pk]
    assert AuditEntry.objects.filter(table_name="approval_records", action="DELETE").count() == 2
    refused("INVALID_STATE", services.payment_request_reject, pr=pr, actor=c, reason="again")
    # resubmitted, the chain starts over
    services.payment_request_request_approval(pr=pr, actor=maker)
    assert state(pr) == ("pending", 1)


def test_recall_by_maker_only(maker, finance):
    a, b = approver_users(2)
    pr = make_pr(maker=maker, steps=[("anyof", [a]), ("anyof", [b])], request=True)
    services.payment_request_approve(pr=pr, actor=a)
    refused("NOT_MAKER", services.payment_request_recall, pr=pr, actor=finance)
    services.payment_request_recall(pr=pr, actor=maker)
    assert state(pr) == ("draft", 0) and records(pr) == []
    assert semantic(pr, "recall")[0].metadata["cleared_records"][0]["approver"] == a.pk
    refused("INVALID_STATE", services.payment_request_recall, pr=pr, actor=maker)


# --- complete / un-complete ---------------------------------------------------------------------------------
def test_complete_and_uncomplete(maker, finance, approver, owner):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    refused("INVALID_STATE", services.payment_request_complete, pr=pr, actor=finance)
    services.payment_request_approve(pr=pr, actor=a)
    refused("PERMISSION_DENIED", services.payment_request_complete, pr=pr, actor=approver)
    refused("NOT_COMPLETED", services.payment_request_uncomplete, pr=pr, actor=owner, reason="x")
    services.payment_request_complete(pr=pr, actor=finance, payment_reference="FT2611290001")
    pr.refresh_from_db()
    assert pr.status == "completed" and pr.payment_reference == "FT2611290001" and pr.completed_at
    refused("ALREADY_COMPLETED", services.payment_request_complete, pr=pr, actor=finance)
    refused("PERMISSION_DENIED", services.payment_request_uncomplete, pr=pr, actor=approver, reason="Trả nhầm")
    refused("PERMISSION_DENIED", services.payment_request_uncomplete, pr=pr, actor=finance, reason="Trả nhầm")
    grant(finance, "payments.uncomplete_paymentrequest")
    refused("REASON_REQUIRED", services.payment_request_uncomplete, pr=pr, actor=finance, reason="  ")
    services.payment_request_uncomplete(pr=pr, actor=finance, reason="Ngân hàng trả lại")
    pr.refresh_from_db()
    assert (pr.status, pr.payment_reference, pr.completed_at) == ("approved", "", None)
    assert semantic(pr, "uncomplete")[0].metadata["payment_reference"] == "FT2611290001"


# --- the whole table --------------------------------------------------------------------------------------------
ACTIONS = ["request_approval", "approve", "retract", "reject", "recall", "complete", "uncomplete", "update", "delete"]


def _in_state(status: str, maker, a, finance):
    pr = make_pr(maker=maker, steps=[("anyof", [a])])
    if status == "draft":
        return pr
    services.payment_request_request_approval(pr=pr, actor=maker)
    if status == "pending":
        return pr
    services.payment_request_approve(pr=pr, actor=a)
    if status == "approved":
        return pr
    services.payment_request_complete(pr=pr, actor=finance)
    return pr


def _run(action: str, pr, maker, a, finance):
    calls = {
        "request_approval": lambda: services.payment_request_request_approval(pr=pr, actor=maker),
        "approve": lambda: services.payment_request_approve(pr=pr, actor=a),
        "retract": lambda: services.payment_request_retract(pr=pr, actor=a),
        "reject": lambda: services.payment_request_reject(pr=pr, actor=a, reason="không hợp lệ"),
        "recall": lambda: services.payment_request_recall(pr=pr, actor=maker),
        "complete": lambda: services.payment_request_complete(pr=pr, actor=finance),
        "uncomplete": lambda: services.payment_request_uncomplete(pr=pr, actor=finance, reason="Hoàn lại"),
        "update": lambda: services.payment_request_update(pr=pr, actor=maker, note="x"),
        "delete": lambda: services.payment_request_delete(pr=pr, actor=maker),
    }
    return calls[action]()


EXPECTED = {
    # (status, action): resulting status, or None when refused
    ("draft", "request_approval"): "pending",
    ("draft", "update"): "draft",
    ("draft", "delete"): "gone",
    ("pending", "approve"): "approved",
    ("pending", "reject"): "draft",
    ("pending", "recall"): "draft",
    ("approved", "retract"): "pending",
    ("approved", "complete"): "completed",
    ("completed", "uncomplete"): "approved",
}


@pytest.mark.parametrize("status", ["draft", "pending", "approved", "completed"])
@pytest.mark.parametrize("action", ACTIONS)
def test_transition_table(status, action, maker, finance):
    (a,) = approver_users(1)
    grant(finance, "payments.uncomplete_paymentrequest")
    pr = _in_state(status, maker, a, finance)
    expected = EXPECTED.get((status, action))
    if expected is None:
        with pytest.raises(AcounteeError) as info:
            _run(action, pr, maker, a, finance)
        assert info.value.status_code in (403, 409, 400)
        assert PaymentRequest.objects.get(pk=pr.pk).status == status
    else:
        _run(action, pr, maker, a, finance)
        if expected == "gone":
            assert not PaymentRequest.objects.filter(pk=pr.pk).exists()
        else:
            assert PaymentRequest.objects.get(pk=pr.pk).status == expected
    for name, table in PR_TRANSITIONS.items():
        assert name in ACTIONS and table


def test_every_transition_of_the_table_is_exercised():
    allowed = {(frm, name) for name, table in PR_TRANSITIONS.items() for frm in table}
    exercised = {(s, a) for (s, a) in EXPECTED} | {("pending", "retract")}
    assert {(str(s), a) for s, a in allowed} <= exercised


def test_bulk_semantic_entries_carry_the_actor_like_audit_log(maker):
    from audit.context import user_label

    (a,) = approver_users(1)
    prs = [make_pr(maker=maker, steps=[("anyof", [a])], request=True) for _ in range(3)]
    result = services.payment_requests_bulk_approve(ids=[p.pk for p in prs], actor=a)
    assert result.approved == sorted(p.pk for p in prs)
    for pr in prs:
        [entry] = semantic(pr, "approve")
        assert (entry.actor, entry.actor_user_id) == (user_label(a), a.pk)
        [requested] = semantic(pr, "request_approval")
        assert (requested.actor, requested.actor_user_id) == (user_label(maker), maker.pk)


# --- completing many (the paid-file import) ------------------------------------------------------------------
def test_complete_many_answers_per_pr_and_never_lets_one_refusal_touch_the_others(maker, finance):
    from invoices.models import Invoice

    (a,) = approver_users(1)
    approved = [make_pr(maker=maker, steps=[("anyof", [a])], request=True) for _ in range(3)]
    for pr in approved:
        services.payment_request_approve(pr=pr, actor=a)
    direct = make_pr(maker=maker, steps=[("anyof", [a])], type="direct", request=True)
    services.payment_request_approve(pr=direct, actor=a)
    pending = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    done = approved[2]
    services.payment_request_complete(pr=done, actor=finance, payment_reference="FT-OLD")

    outcome = services.payment_requests_complete_many(
        actor=finance,
        references={
            approved[0].pk: " FT-1 ",
            approved[1].pk: "x" * 129,
            done.pk: "FT-NEW",
            pending.pk: "FT-2",
            direct.pk: "FT-3",
            987654321: "FT-4",
        },
    )
    codes = {pk: (None if err is None else err.code) for pk, err in outcome.items()}
    assert codes == {
        approved[0].pk: None,
        approved[1].pk: "VALIDATION_ERROR",
        done.pk: "ALREADY_COMPLETED",
        pending.pk: "INVALID_STATE",
        direct.pk: None,
        987654321: "NOT_FOUND",
    }
    assert PaymentRequest.objects.get(pk=approved[0].pk).payment_reference == "FT-1"
    assert PaymentRequest.objects.get(pk=approved[1].pk).status == "approved"
    assert PaymentRequest.objects.get(pk=done.pk).payment_reference == "FT-OLD"
    assert PaymentRequest.objects.get(pk=pending.pk).status == "pending"
    assert set(Invoice.objects.filter(pr_link__pr=direct).values_list("status", flat=True)) == {"completed"}
    assert len(semantic(approved[0], "complete")) == 1 and not semantic(approved[1], "complete")


def test_complete_many_refuses_a_pr_whose_invoice_became_obsolete(maker, finance):
    from invoices.models import Invoice

    (a,) = approver_users(1)
    direct = make_pr(maker=maker, steps=[("anyof", [a])], type="direct", request=True)
    services.payment_request_approve(pr=direct, actor=a)
    Invoice.objects.filter(pr_link__pr=direct).update(status="redundant")  # behind the services' back
    outcome = services.payment_requests_complete_many(actor=finance, references={direct.pk: "FT-9"})
    assert outcome[direct.pk].code == "INVALID_STATE"
    assert PaymentRequest.objects.get(pk=direct.pk).status == "approved"


def test_complete_many_runs_a_fixed_number_of_queries(maker, finance):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    (a,) = approver_users(1)

    def approved_prs(n: int) -> list:
        prs = [make_pr(maker=maker, steps=[("anyof", [a])], request=True) for _ in range(n)]
        services.payment_requests_bulk_approve(ids=[p.pk for p in prs], actor=a)
        return prs

    def count(prs: list) -> int:
        with CaptureQueriesContext(connection) as ctx:
            services.payment_requests_complete_many(actor=finance, references={p.pk: f"FT{p.pk}" for p in prs})
        return len(ctx)

    count(approved_prs(1))  # warms the per-user permission cache
    assert count(approved_prs(2)) == count(approved_prs(12))
