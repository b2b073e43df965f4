"""NO-WEBHOOK-WITHOUT-COMMIT (docs/controls.md): an event and its webhook deliveries exist exactly when the change
they record committed — through the API, bulk approve and a failing transaction — and the feed's ids become
visible in increasing order even when two writers overlap."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from payments import services
from payments.webhooks.models import Event, WebhookDelivery
from tests.approvals.factories import approver_users
from tests.payments.factories import make_pr
from tests.webhooks.factories import make_endpoint

pytestmark = pytest.mark.django_db


def approved_events() -> int:
    return Event.objects.filter(type="payment_request.approved").count()


def test_no_webhook_without_commit_a_refused_api_approval_records_nothing(client_for, maker, owner):
    make_endpoint(owner=owner)
    a, b = approver_users(2)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    before = (Event.objects.count(), WebhookDelivery.objects.count())
    answer = client_for(b).post(f"/api/payment-requests/{pr.pk}/approve/")
    assert answer.status_code in (403, 409)
    assert (Event.objects.count(), WebhookDelivery.objects.count()) == before
    assert client_for(a).post(f"/api/payment-requests/{pr.pk}/approve/").status_code == 200
    assert approved_events() == 1 and WebhookDelivery.objects.filter(event__type="payment_request.approved").count()


def test_no_webhook_without_commit_bulk_approve_announces_only_what_it_approved(maker, owner):
    make_endpoint(owner=owner)
    a, b = approver_users(2)
    mine = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    not_mine = make_pr(maker=maker, steps=[("anyof", [b])], request=True)
    result = services.payment_requests_bulk_approve(ids=[mine.pk, not_mine.pk], actor=a)
    assert result.approved == [mine.pk]
    ids = [e.payload["payment_request"]["id"] for e in Event.objects.filter(type="payment_request.approved")]
    assert ids == [mine.pk]


def test_no_webhook_without_commit_an_error_after_the_change_takes_the_event(maker, owner):
    make_endpoint(owner=owner)
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.payment_request_approve(pr=pr, actor=a)
        raise RuntimeError
    assert approved_events() == 0


@pytest.mark.django_db(transaction=True)
def test_no_webhook_without_commit_overlapping_writers_ids_visible_in_order():
    """Writer A takes its event id first and commits last; writer B must wait for A's commit before taking its
    id, so a reader never sees B's (higher) id while A's (lower) is still invisible."""
    from payments.webhooks.services.recording import PendingEvent, events_write

    a_written, release_a = threading.Event(), threading.Event()
    seen_while_a_open: list[list[int]] = []

    def writer_a() -> None:
        try:
            with transaction.atomic():
                events_write([PendingEvent("invoice.imported", {"invoice": {"id": 1}})])
                a_written.set()
                release_a.wait(5)
        finally:
            connection.close()

    def writer_b() -> None:
        try:
            with transaction.atomic():
                events_write([PendingEvent("invoice.imported", {"invoice": {"id": 2}})])
        finally:
            connection.close()

    ta = threading.Thread(target=writer_a)
    ta.start()
    assert a_written.wait(5)
    tb = threading.Thread(target=writer_b)
    tb.start()
    tb.join(1.0)
    assert tb.is_alive()  # B waits for A's commit
    seen_while_a_open.append(list(Event.objects.values_list("id", flat=True)))
    release_a.set()
    ta.join(5)
    tb.join(5)
    assert seen_while_a_open == [[]]
    rows = list(Event.objects.order_by("id").values_list("payload__invoice__id", flat=True))
    assert rows == [1, 2]  # A's id is below B's: the order of commits
