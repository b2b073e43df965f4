"""Events are written in the change's own transaction, from the existing hooks (payments.events) and the
invoice importer's signal: one per moment, with stable English keys, and a pending delivery per active
endpoint subscribed to the type. A rolled-back change leaves neither."""

from __future__ import annotations

import pytest
from django.db import transaction

from payments import services
from payments.services.payment import payment_request_complete, payment_request_uncomplete
from payments.services.returns import payment_request_reject
from payments.webhooks.models import Event, WebhookDelivery
from tests.approvals.factories import approver_users
from tests.payments.factories import grant, make_pr
from tests.webhooks.factories import make_endpoint

pytestmark = pytest.mark.django_db


def types() -> list[str]:
    return list(Event.objects.order_by("id").values_list("type", flat=True))


def test_each_moment_of_a_request_is_one_event_with_stable_keys(maker, owner):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], amount="21670000", name="Tiền điện", request=True)
    assert types()[-1] in ("payment_request.approval_requested", "payment_request.new_payee")
    event = Event.objects.get(type="payment_request.approval_requested")
    assert event.payload["payment_request"] == {
        "id": pr.pk,
        "name": "Tiền điện",
        "type": "advanced",
        "status": "pending",
        "amount": "21670000.00",
        "currency": "VND",
        "maker_id": maker.pk,
        "payment_reference": None,
    }
    assert event.payload["step"] == {"number": 1}
    assert set(event.payload["payee"]) == {
        "bank_name",
        "bank_account",
        "account_name",
        "tax_code",
        "is_new",
        "previous_bank_account",
    }
    services.payment_request_approve(pr=pr, actor=a)
    assert types()[-1] == "payment_request.approved"
    assert Event.objects.last().payload["payment_request"]["status"] == "approved"
    payment_request_complete(pr=pr, actor=maker, payment_reference="UNC-7")
    completed = Event.objects.last()
    assert completed.type == "payment_request.completed"
    assert completed.payload["payment_request"]["payment_reference"] == "UNC-7"
    payment_request_uncomplete(pr=pr, actor=owner, reason="Ngân hàng trả lại")
    uncompleted = Event.objects.last()
    assert uncompleted.type == "payment_request.uncompleted"
    assert uncompleted.payload["reason"] == "Ngân hàng trả lại"
    assert uncompleted.payload["payment_request"]["status"] == "approved"
    ids = list(Event.objects.order_by("id").values_list("id", flat=True))
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_a_rejection_carries_its_reason(maker):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    payment_request_reject(pr=pr, actor=a, reason="Thiếu chứng từ")
    event = Event.objects.last()
    assert event.type == "payment_request.rejected" and event.payload["reason"] == "Thiếu chứng từ"


def test_a_new_payee_is_its_own_alert(maker):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    pr.refresh_from_db()
    alerts = Event.objects.filter(type="payment_request.new_payee")
    assert pr.payee_is_new == alerts.exists()
    if pr.payee_is_new:
        assert alerts.get().payload["payee"]["is_new"] is True


def test_deliveries_only_for_active_endpoints_subscribed_to_the_type(maker, owner):
    wants_approved = make_endpoint(owner=owner, types=["payment_request.approved"])
    wants_all = make_endpoint(owner=owner)
    make_endpoint(owner=owner, is_active=False)
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    services.payment_request_approve(pr=pr, actor=a)
    approved = Event.objects.get(type="payment_request.approved")
    assert set(approved.deliveries.values_list("endpoint_id", flat=True)) == {wants_approved.pk, wants_all.pk}
    requested = Event.objects.get(type="payment_request.approval_requested")
    assert set(requested.deliveries.values_list("endpoint_id", flat=True)) == {wants_all.pk}
    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {("pending", 0)}


def test_a_rolled_back_change_leaves_no_event_and_no_delivery(maker, owner):
    make_endpoint(owner=owner)
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    before = (Event.objects.count(), WebhookDelivery.objects.count())
    with pytest.raises(RuntimeError), transaction.atomic():
        services.payment_request_approve(pr=pr, actor=a)
        assert Event.objects.filter(type="payment_request.approved").exists()
        raise RuntimeError("something after the approval failed")
    assert (Event.objects.count(), WebhookDelivery.objects.count()) == before
    assert not Event.objects.filter(type="payment_request.approved").exists()


def test_bulk_approve_writes_the_events_together(maker, owner):
    make_endpoint(owner=owner)
    (a,) = approver_users(1)
    prs = [make_pr(maker=maker, steps=[("anyof", [a])], request=True, name=f"PR {n}") for n in range(3)]
    result = services.payment_requests_bulk_approve(ids=[p.pk for p in prs], actor=a)
    assert len(result.approved) == 3
    approved = Event.objects.filter(type="payment_request.approved")
    assert sorted(e.payload["payment_request"]["id"] for e in approved) == sorted(p.pk for p in prs)
    assert WebhookDelivery.objects.filter(event__in=approved).count() == 3


def test_imported_invoices_are_events_in_the_import_transaction(finance, owner):
    from tests.invoices.factories import import_one, invoice_xml

    make_endpoint(owner=owner, types=["invoice.imported"])
    invoice = import_one(invoice_xml(4711), actor=finance)
    event = Event.objects.get(type="invoice.imported")
    assert event.payload["invoice"]["id"] == invoice.pk
    assert event.payload["invoice"]["amount"] == str(invoice.total_payable)
    assert event.payload["invoice"]["number"] == invoice.number
    assert event.deliveries.count() == 1


def test_uncomplete_needs_its_permission_before_any_event(maker, finance):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    services.payment_request_approve(pr=pr, actor=a)
    payment_request_complete(pr=pr, actor=maker, payment_reference="UNC-8")
    grant(finance, "payments.uncomplete_paymentrequest")
    payment_request_uncomplete(pr=pr, actor=finance, reason="Sai")
    assert types()[-1] == "payment_request.uncompleted"


def test_every_event_type_is_subscribable_and_in_the_document():
    from payments.webhooks.models import EventType
    from tests.webhooks.factories import ALL_TYPES

    assert sorted(ALL_TYPES) == sorted(EventType.values)


def test_a_step_advancing_is_an_event_with_the_step_now_current(maker, owner):
    make_endpoint(owner=owner, types=["payment_request.step_advanced"])
    a, b = approver_users(2)
    pr = make_pr(maker=maker, steps=[("anyof", [a]), ("anyof", [b])], request=True)
    services.payment_request_approve(pr=pr, actor=a)
    event = Event.objects.get(type="payment_request.step_advanced")
    assert event.payload["step"] == {"number": 2}
    assert event.payload["payment_request"]["status"] == "pending"
    assert event.deliveries.count() == 1
    services.payment_request_approve(pr=pr, actor=b)
    assert types()[-1] == "payment_request.approved"
    assert Event.objects.filter(type="payment_request.step_advanced").count() == 1  # the last step is `approved`


def test_a_recall_is_an_event_and_rolls_back_with_the_change(maker, owner):
    from payments.services.returns import payment_request_recall

    make_endpoint(owner=owner, types=["payment_request.recalled"])
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    with pytest.raises(RuntimeError), transaction.atomic():
        payment_request_recall(pr=pr, actor=maker)
        raise RuntimeError("rolled back")
    assert not Event.objects.filter(type="payment_request.recalled").exists()
    payment_request_recall(pr=pr, actor=maker)
    event = Event.objects.get(type="payment_request.recalled")
    assert event.payload["payment_request"]["status"] == "draft"
    assert event.payload["step"] == {"number": 1}
    assert event.deliveries.count() == 1


def test_a_retracted_approval_is_an_event(maker, owner):
    from payments.services.decisions import payment_request_retract

    make_endpoint(owner=owner, types=["payment_request.approval_retracted"])
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    services.payment_request_approve(pr=pr, actor=a)
    payment_request_retract(pr=pr, actor=a)
    event = Event.objects.get(type="payment_request.approval_retracted")
    assert event.payload["payment_request"]["status"] == "pending"
    assert event.payload["step"] == {"number": 1}
    assert event.payload["chain_moved_back"] in (True, False)
    assert event.deliveries.count() == 1


def test_an_invoice_marked_obsolete_is_an_event_in_its_transaction(finance, owner):
    from invoices.services import invoice_mark_obsolete, invoices_bulk_mark_obsolete
    from tests.invoices.factories import import_one, invoice_xml

    make_endpoint(owner=owner, types=["invoice.marked_obsolete"])
    invoice = import_one(invoice_xml(4712), actor=finance)
    other = import_one(invoice_xml(4713), actor=finance)
    with pytest.raises(RuntimeError), transaction.atomic():
        invoice_mark_obsolete(invoice=invoice, actor=owner)
        raise RuntimeError("rolled back")
    assert not Event.objects.filter(type="invoice.marked_obsolete").exists()
    invoice_mark_obsolete(invoice=invoice, actor=owner)
    invoices_bulk_mark_obsolete(ids=[other.pk], actor=owner)
    events = list(Event.objects.filter(type="invoice.marked_obsolete").order_by("id"))
    assert [e.payload["invoice"]["id"] for e in events] == [invoice.pk, other.pk]
    assert {e.payload["invoice"]["status"] for e in events} == {"redundant"}
    assert WebhookDelivery.objects.filter(event__in=events).count() == 2
