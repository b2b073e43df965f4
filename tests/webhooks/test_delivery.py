"""Delivery after commit against a real HTTP receiver on 127.0.0.1: the body and headers, the signature checked
with the snippet of docs/webhooks.md, a 500 then a 200, a timeout, `failed` after the last attempt, redirects
not followed, nothing for a rolled-back change, and the worker loop woken by NOTIFY at commit."""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.utils import timezone

from payments import services
from payments.webhooks.models import Event, WebhookDelivery
from payments.webhooks.services import webhook_deliveries_dispatch, webhook_delivery_redeliver
from tests.approvals.factories import approver_users
from tests.payments.factories import make_pr
from tests.webhooks.factories import make_endpoint
from tests.webhooks.receiver import running_receiver

pytestmark = pytest.mark.django_db


def documented_verify():
    """The verification snippet of docs/webhooks.md, run as written."""
    text = (Path(django_settings.BASE_DIR) / "docs" / "webhooks.md").read_text()
    section = text.split("## Verifying a webhook", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "docs/webhooks.md", "exec"), namespace)
    return namespace["verify"]


def approve_one(maker, types=("payment_request.approved",), owner=None, url=None):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True, name="Tiền điện tháng 10")
    endpoint = make_endpoint(owner=owner, url=url, types=list(types))
    services.payment_request_approve(pr=pr, actor=a)
    return pr, endpoint


def later(seconds: float = 10**6):
    return timezone.now() + timedelta(seconds=seconds)


def test_a_delivery_is_signed_and_verifies_with_the_documented_snippet(maker):
    verify = documented_verify()
    with running_receiver() as receiver:
        pr, endpoint = approve_one(maker, url=receiver.url)
        result = webhook_deliveries_dispatch()
    assert len(result.delivered) == 1 and not result.retrying and not result.failed
    (request,) = receiver.requests
    event = Event.objects.get(type="payment_request.approved")
    assert request.headers["Acountee-Event-Id"] == str(event.pk)
    assert request.headers["Acountee-Event-Type"] == "payment_request.approved"
    assert request.headers["Content-Type"].startswith("application/json")
    assert verify(endpoint.secret, request.headers["Acountee-Signature"], request.body)
    assert not verify("whsec_wrong", request.headers["Acountee-Signature"], request.body)
    assert not verify(endpoint.secret, request.headers["Acountee-Signature"], request.body + b" ")
    body = json.loads(request.body)
    assert body["id"] == event.pk and body["type"] == "payment_request.approved"
    assert body["data"]["payment_request"]["id"] == pr.pk
    assert body["data"]["payment_request"]["name"] == "Tiền điện tháng 10"
    assert body["data"]["payment_request"]["amount"] == "1500000.00"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_response_code) == ("delivered", 1, 200)
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None
    assert webhook_deliveries_dispatch().count == 0  # sent once


def test_a_500_is_retried_with_backoff_then_delivered(maker, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    with running_receiver(statuses=[500, 200]) as receiver:
        approve_one(maker, url=receiver.url)
        first = webhook_deliveries_dispatch()
        delivery = WebhookDelivery.objects.get()
        assert first.retrying == [delivery.pk]
        assert (delivery.status, delivery.attempts, delivery.last_response_code) == ("pending", 1, 500)
        assert delivery.last_error == "HTTP 500"
        wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
        assert 25 < wait <= 30  # the first retry after the base delay
        assert webhook_deliveries_dispatch().count == 0  # not due yet
        second = webhook_deliveries_dispatch(now=later(31))
    assert second.delivered == [delivery.pk]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_response_code) == ("delivered", 2, 200)
    assert len(receiver.requests) == 2
    assert receiver.requests[0].headers["Acountee-Event-Id"] == receiver.requests[1].headers["Acountee-Event-Id"]


def test_a_timeout_is_retried(maker, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    with running_receiver(delays=[3.0]) as receiver:
        approve_one(maker, url=receiver.url)
        started = time.monotonic()
        result = webhook_deliveries_dispatch()
        assert time.monotonic() - started < 2.5  # the sender gave up at its timeout
        delivery = WebhookDelivery.objects.get()
        assert result.retrying == [delivery.pk]
        assert delivery.status == "pending" and delivery.last_response_code is None
        assert "timed out" in delivery.last_error.lower() or "timeout" in delivery.last_error.lower()
        assert webhook_deliveries_dispatch(now=later()).delivered == [delivery.pk]


def test_failed_after_the_last_attempt_and_an_owner_redelivers(maker, owner, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    with running_receiver(statuses=[503, 502, 500, 200]) as receiver:
        approve_one(maker, url=receiver.url, owner=owner)
        outcomes = [webhook_deliveries_dispatch(now=later(n * 10**6)) for n in range(5)]
        delivery = WebhookDelivery.objects.get()
        assert [len(o.retrying) for o in outcomes[:2]] == [1, 1]
        assert outcomes[2].failed == [delivery.pk]
        assert outcomes[3].count == outcomes[4].count == 0  # given up
        assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 3, None)
        assert delivery.last_response_code == 500
        webhook_delivery_redeliver(delivery=delivery, actor=owner)
        assert webhook_deliveries_dispatch().delivered == [delivery.pk]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
    assert len(receiver.requests) == 4


def test_a_redirect_is_not_followed(maker):
    with running_receiver(statuses=[302]) as receiver:
        approve_one(maker, url=receiver.url)
        result = webhook_deliveries_dispatch()
    assert len(result.retrying) == 1 and len(receiver.requests) == 1
    assert WebhookDelivery.objects.get().last_response_code == 302


def test_an_unreachable_endpoint_is_an_error_not_an_exception(maker):
    approve_one(maker, url="http://127.0.0.1:9/closed")
    result = webhook_deliveries_dispatch()
    delivery = WebhookDelivery.objects.get()
    assert result.retrying == [delivery.pk] and delivery.last_error


def test_nothing_is_sent_for_a_rolled_back_change(maker, owner):
    with running_receiver() as receiver:
        (a,) = approver_users(1)
        pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
        make_endpoint(owner=owner, url=receiver.url, types=["payment_request.approved"])
        with pytest.raises(RuntimeError), transaction.atomic():
            services.payment_request_approve(pr=pr, actor=a)
            raise RuntimeError("rolled back")
        assert webhook_deliveries_dispatch(now=later()).count == 0
    assert receiver.requests == []


def test_an_inactive_endpoint_gets_nothing_until_reactivated(maker, owner):
    from payments.webhooks.services import webhook_endpoint_update

    with running_receiver() as receiver:
        _pr, endpoint = approve_one(maker, url=receiver.url, owner=owner)
        webhook_endpoint_update(endpoint=endpoint, actor=owner, is_active=False)
        assert webhook_deliveries_dispatch().count == 0
        webhook_endpoint_update(endpoint=endpoint, actor=owner, is_active=True)
        assert len(webhook_deliveries_dispatch().delivered) == 1
    assert len(receiver.requests) == 1


@pytest.mark.django_db(transaction=True)
def test_the_worker_loop_sends_at_commit(maker, owner, settings):
    """`dispatch_notifications`' loop, in a thread: woken by NOTIFY at the approval's commit, it sends the
    webhook long before its poll interval."""
    from payments.notifications.services import worker_run
    from payments.webhooks import services as webhooks

    stop = threading.Event()
    with running_receiver() as receiver:
        (a,) = approver_users(1)
        pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
        make_endpoint(owner=owner, url=receiver.url, types=["payment_request.approved"])

        def run() -> None:
            from django.db import connection

            try:
                worker_run(
                    stop=stop,
                    poll_seconds=30,
                    also=[webhooks.webhook_pass],
                    also_channels=[webhooks.WAKE_CHANNEL],
                )
            finally:
                connection.close()

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        time.sleep(1.0)  # the worker is LISTENing
        committed = time.monotonic()
        services.payment_request_approve(pr=pr, actor=a)
        assert receiver.wait_for(1, timeout=10)
        stop.set()
        worker.join(5)
    latency = receiver.requests[0].at - committed
    assert latency < 5, latency  # a wake-up, not the 30 s poll
    assert WebhookDelivery.objects.get().status == "delivered"


def test_a_private_address_is_refused_in_production_unless_allowed(maker, settings):
    """An owner's endpoint must not make the worker reach the database host, a metadata service or the office
    network: in production a receiver on 127.0.0.1 gets nothing, the delivery says why and is retried later;
    WEBHOOK_ALLOW_PRIVATE_TARGETS (receivers on the company's own network) lets it through."""
    with running_receiver() as receiver:
        approve_one(maker, url=receiver.url)
        settings.PRODUCTION = True
        refused = webhook_deliveries_dispatch()
        assert receiver.requests == [] and len(refused.retrying) == 1
        delivery = WebhookDelivery.objects.get()
        assert "127.0.0.1 is not a public address" in delivery.last_error
        settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
        WebhookDelivery.objects.update(next_attempt_at=timezone.now())
        assert len(webhook_deliveries_dispatch().delivered) == 1 and len(receiver.requests) == 1
