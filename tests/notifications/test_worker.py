"""The dispatch worker: e-mails after commit, exactly once per recipient, content, failures
recorded and retried with backoff, owner retry, several workers side by side, and the
acceptance run against a real SMTP client whose server refuses, then comes back."""

from __future__ import annotations

import socket
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from acountee.errors import AcounteeError
from payments import services
from payments.models import PaymentRequest
from payments.notifications import services as notification_services
from payments.notifications.models import Notification, NotificationDelivery
from tests.approvals.factories import approver_users
from tests.notifications.backends import RecordingBackend
from tests.notifications.factories import enable_email
from tests.payments.factories import make_pr

pytestmark = pytest.mark.django_db


def dispatch(**kwargs):
    return notification_services.deliveries_dispatch(**kwargs)


def step_two_pr(maker, step1, step2):
    return make_pr(maker=maker, steps=[("anyof", step1), ("allof", step2)], request=True)


# --- acceptance: one e-mail per next approver, none on rollback, none for the final approvers ------------
def test_advancing_a_step_mails_each_next_approver_exactly_once_after_one_pass(maker):
    a, b, c = approver_users(3)
    pr = step_two_pr(maker, [a], [b, c])
    enable_email(b, c)  # a has the default (in-app only)
    services.payment_request_approve(pr=pr, actor=a)
    assert mail.outbox == []  # nothing is sent inside the approval
    result = dispatch()
    assert sorted(m.to[0] for m in mail.outbox) == sorted([b.email, c.email])
    assert len(result.sent) == 2 and not result.failed
    assert dispatch().count == 0  # a second pass sends nothing again
    assert len(mail.outbox) == 2
    assert set(NotificationDelivery.objects.values_list("status", "attempts")) == {("sent", 1)}


def test_no_mail_when_the_approval_rolls_back(maker):
    a, b = approver_users(2)
    pr = step_two_pr(maker, [a], [b])
    enable_email(b)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.payment_request_approve(pr=pr, actor=a)
        raise RuntimeError("something after the approval failed")
    assert dispatch().count == 0 and mail.outbox == []


def test_the_final_approval_mails_no_approver_only_the_maker(maker):
    a, b = approver_users(2)
    pr = step_two_pr(maker, [a], [b])
    services.payment_request_approve(pr=pr, actor=a)
    enable_email(a, b, maker)  # from now on everyone wants e-mail
    services.payment_request_approve(pr=pr, actor=b)  # the final approval
    dispatch()
    assert [m.to for m in mail.outbox] == [[maker.email]]
    assert f"#{pr.pk}" in mail.outbox[0].subject


def test_email_content_plain_and_html_with_the_admin_link(maker, settings):
    settings.ADMIN_BASE_URL = "https://ap.example.vn/"
    (a,) = approver_users(1)
    enable_email(a)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], name="Tiền điện <tháng 10>", amount="18450000", request=True)
    dispatch()
    (message,) = mail.outbox
    url = f"https://ap.example.vn/admin/payments/paymentrequest/{pr.pk}/change/"
    assert message.to == [a.email]
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    assert message.subject == Notification.objects.get(recipient=a).title
    assert url in message.body and "Tiền điện <tháng 10>" in message.body and "18,450,000" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert f'href="{url}"' in html
    assert "Tiền điện &lt;tháng 10&gt;" in html and "<tháng 10>" not in html  # escaped in HTML
    delivery = NotificationDelivery.objects.get()
    assert message.extra_headers["X-Acountee-Delivery"] == str(delivery.pk)


# --- failures, backoff, retry ------------------------------------------------------------------------------
def test_failures_are_recorded_and_retried_with_exponential_backoff_until_the_limit(maker, settings):
    settings.EMAIL_BACKEND = "tests.notifications.backends.FailingBackend"
    settings.NOTIFICATION_RETRY_BASE_SECONDS = 60
    settings.NOTIFICATION_RETRY_MAX_SECONDS = 300
    settings.NOTIFICATION_MAX_ATTEMPTS = 4
    (a,) = approver_users(1)
    enable_email(a)
    make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    now = timezone.now()
    delays = []
    for attempt in range(1, 5):
        result = dispatch(now=now)
        assert len(result.failed) == 1
        d = NotificationDelivery.objects.get()
        assert (d.status, d.attempts) == ("failed", attempt)
        assert "ConnectionRefusedError" in d.last_error
        assert dispatch(now=now).count == 0  # not due again at the same moment
        if d.next_attempt_at is None:
            break
        delays.append((d.next_attempt_at - now).total_seconds())
        now = d.next_attempt_at
    assert delays == [60, 120, 240]  # then capped … and given up after the 4th attempt
    assert d.next_attempt_at is None
    assert dispatch(now=now + timedelta(days=30)).count == 0


def test_backoff_is_capped():
    from django.conf import settings

    assert notification_services.retry_delay(1).total_seconds() == settings.NOTIFICATION_RETRY_BASE_SECONDS
    assert notification_services.retry_delay(60).total_seconds() == settings.NOTIFICATION_RETRY_MAX_SECONDS


def test_owner_retry_sends_a_given_up_delivery_again(maker, owner, settings):
    settings.EMAIL_BACKEND = "tests.notifications.backends.FailingBackend"
    settings.NOTIFICATION_MAX_ATTEMPTS = 1
    (a,) = approver_users(1)
    enable_email(a)
    make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    dispatch()
    d = NotificationDelivery.objects.get()
    assert (d.status, d.next_attempt_at) == ("failed", None)
    with pytest.raises(AcounteeError) as refused:
        notification_services.delivery_retry(delivery=d, actor=a)
    assert refused.value.code == "NOT_OWNER"
    notification_services.delivery_retry(delivery=d, actor=owner)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert len(dispatch().sent) == 1
    d.refresh_from_db()
    assert (d.status, d.attempts, d.next_attempt_at) == ("sent", 2, None)
    with pytest.raises(AcounteeError) as refused:
        notification_services.delivery_retry(delivery=d, actor=owner)
    assert refused.value.code == "DELIVERY_NOT_FAILED"


def test_the_command_does_one_pass(maker, capsys):
    (a,) = approver_users(1)
    enable_email(a)
    make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    call_command("dispatch_notifications", "--once")
    assert "sent 1, failed 0" in capsys.readouterr().out
    assert len(mail.outbox) == 1


# --- several workers side by side --------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_two_workers_never_deliver_the_same_item_twice(maker, settings):
    settings.EMAIL_BACKEND = "tests.notifications.backends.RecordingBackend"
    approvers = approver_users(6)
    enable_email(*approvers)
    for i in range(8):
        make_pr(maker=maker, steps=[("anyof", approvers)], name=f"PR {i}", request=True)
    expected = sorted(NotificationDelivery.objects.values_list("pk", flat=True))
    assert len(expected) == 48
    RecordingBackend.delivered = []
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            notification_services.deliveries_dispatch()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, name=f"worker-{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    delivered = sorted(pk for _, pk in RecordingBackend.delivered)
    assert delivered == expected  # every delivery exactly once
    assert len({name for name, _ in RecordingBackend.delivered}) == 2  # and both workers took part
    assert set(NotificationDelivery.objects.values_list("status", "attempts")) == {("sent", 1)}


# --- acceptance: the SMTP server refuses, approvals succeed, mail goes out when it is back ------------------
def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_smtp_refusing_never_fails_the_approval_and_the_retry_delivers_when_it_is_back(maker, settings):
    from aiosmtpd.controller import Controller

    port = _closed_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    a, b, c = approver_users(3)
    pr = step_two_pr(maker, [a], [b, c])
    enable_email(b, c)
    services.payment_request_approve(pr=pr, actor=a)  # succeeds whatever the mail server does
    assert PaymentRequest.objects.get(pk=pr.pk).approval.current_step == 2

    result = dispatch()
    assert len(result.failed) == 2 and not result.sent
    for d in NotificationDelivery.objects.all():
        assert d.status == "failed" and d.attempts == 1
        assert "Connection refused" in d.last_error or "ConnectionRefusedError" in d.last_error
        assert d.next_attempt_at > timezone.now()

    class Inbox:
        def __init__(self) -> None:
            self.envelopes: list = []

        async def handle_DATA(self, server, session, envelope):
            self.envelopes.append(envelope)
            return "250 OK"

    inbox = Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        assert dispatch().count == 0  # not due yet: backoff
        later = max(NotificationDelivery.objects.values_list("next_attempt_at", flat=True))
        result = dispatch(now=later)  # the worker's next pass once the backoff has passed
    finally:
        server.stop()
    assert len(result.sent) == 2
    assert sorted(e.rcpt_tos[0] for e in inbox.envelopes) == sorted([b.email, c.email])
    assert all(b"/admin/payments/paymentrequest/" in e.content for e in inbox.envelopes)
    assert set(NotificationDelivery.objects.values_list("status", "attempts")) == {("sent", 2)}


# --- wake-up: NOTIFY at commit, nothing on rollback; the loop delivers without waiting for its poll ----------
def _listener():
    import psycopg

    conn = psycopg.connect(**connection.get_connection_params(), autocommit=True)
    conn.execute(f"LISTEN {notification_services.WAKE_CHANNEL}")
    return conn


@pytest.mark.django_db(transaction=True)
def test_queuing_an_email_wakes_listeners_at_commit_only(maker):
    a, b = approver_users(2)
    enable_email(b)
    pr = step_two_pr(maker, [a], [b])
    listener = _listener()
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.payment_request_approve(pr=pr, actor=a)
            raise RuntimeError("rolled back")
        assert list(listener.notifies(timeout=0.5, stop_after=1)) == []
        services.payment_request_approve(pr=pr, actor=a)
        (wake,) = list(listener.notifies(timeout=5, stop_after=1))
        assert wake.channel == notification_services.WAKE_CHANNEL
    finally:
        listener.close()


@pytest.mark.django_db(transaction=True)
def test_the_worker_loop_delivers_and_stops(maker):
    import time

    a, b = approver_users(2)
    enable_email(b)
    pr = step_two_pr(maker, [a], [b])
    stop = threading.Event()
    passes: list = []

    def run() -> None:
        try:
            notification_services.worker_run(stop=stop, poll_seconds=0.2, on_pass=passes.append)
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    try:
        services.payment_request_approve(pr=pr, actor=a)
        for _ in range(200):  # until the worker has sent it (bounded; no timing asserted)
            if NotificationDelivery.objects.filter(status="sent").exists():
                break
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join()
    assert NotificationDelivery.objects.get().status == "sent"
    assert [len(p.sent) for p in passes] == [1]
    assert [m.to for m in mail.outbox] == [[b.email]]


def test_a_recipient_who_left_is_not_retried(maker, owner):
    (a,) = approver_users(1)
    enable_email(a)
    make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    a.is_active = False
    a.save(update_fields=["is_active"])
    assert len(dispatch().failed) == 1
    d = NotificationDelivery.objects.get()
    assert (d.status, d.attempts, d.next_attempt_at) == ("failed", 1, None)
    assert "inactive" in d.last_error and mail.outbox == []
