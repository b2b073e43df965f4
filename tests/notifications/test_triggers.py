"""Who is told at each transition of a PR (and who is not), written in the approval's own
transaction: gone when it rolls back, and an outbox failure never fails the approval."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from approvals.models import ApprovalDelegation
from payments import services
from payments.models import PaymentRequest
from payments.notifications import services as notification_services
from payments.notifications.models import Notification, NotificationDelivery
from tests.approvals.factories import approver_users
from tests.notifications.factories import enable_email
from tests.payments.factories import make_pr

pytestmark = pytest.mark.django_db


def told(pr, kind: str | None = None) -> list[int]:
    qs = Notification.objects.filter(pr=pr)
    if kind:
        qs = qs.filter(kind=kind)
    return sorted(qs.values_list("recipient_id", flat=True))


def test_request_approval_tells_the_first_steps_approvers_only(maker):
    a, b, c = approver_users(3)
    pr = make_pr(maker=maker, steps=[("anyof", [a, b]), ("anyof", [c])])
    assert told(pr) == []  # a draft tells no one
    services.payment_request_request_approval(pr=pr, actor=maker)
    assert told(pr) == sorted([a.pk, b.pk])
    n = Notification.objects.get(pr=pr, recipient=a)
    assert n.kind == "approval_requested" and n.in_app and n.read_at is None
    assert f"#{pr.pk}" in n.title and "Bước 1" in n.body
    # default preference: in-app only, no e-mail
    assert not NotificationDelivery.objects.exists()


def test_step_advanced_tells_the_next_step_and_the_final_approval_tells_only_the_maker(maker):
    a, b, c = approver_users(3)
    enable_email(a, b, c, maker)
    pr = make_pr(maker=maker, steps=[("anyof", [a]), ("allof", [b, c])], request=True)
    services.payment_request_approve(pr=pr, actor=a)
    assert told(pr, "step_advanced") == sorted([b.pk, c.pk])
    services.payment_request_approve(pr=pr, actor=b)  # allof: not yet satisfied
    assert told(pr, "step_advanced") == sorted([b.pk, c.pk])
    before = Notification.objects.count()
    services.payment_request_approve(pr=pr, actor=c)  # the final approval
    new = list(Notification.objects.order_by("id")[before:])
    assert [(n.kind, n.recipient_id) for n in new] == [("approved", maker.pk)]
    # e-mails: a (requested), b and c (step 2), maker (approved) — nobody twice, nothing "next" after the end
    emails = sorted(NotificationDelivery.objects.values_list("notification__recipient_id", "notification__kind"))
    assert emails == sorted(
        [(a.pk, "approval_requested"), (b.pk, "step_advanced"), (c.pk, "step_advanced"), (maker.pk, "approved")]
    )


def test_reject_tells_the_maker_with_the_reason_and_recall_tells_no_one(maker):
    a, b = approver_users(2)
    pr = make_pr(maker=maker, steps=[("anyof", [a, b])], request=True)
    services.payment_request_reject(pr=pr, actor=a, reason="Thiếu báo giá")
    n = Notification.objects.get(pr=pr, kind="rejected")
    assert n.recipient_id == maker.pk and "Thiếu báo giá" in n.body
    services.payment_request_request_approval(pr=pr, actor=maker)
    before = Notification.objects.count()
    services.payment_request_recall(pr=pr, actor=maker)
    assert Notification.objects.count() == before


def test_completed_tells_the_maker(maker, finance):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    services.payment_request_approve(pr=pr, actor=a)
    services.payment_request_complete(pr=pr, actor=finance, payment_reference="FT123")
    n = Notification.objects.get(pr=pr, kind="completed")
    assert n.recipient_id == maker.pk and "FT123" in n.body
    assert told(pr, "approved") == [maker.pk]


def test_a_delegate_is_told_along_with_the_approver(maker):
    a, b, sub, old_sub = approver_users(4)
    today = timezone.localdate()
    ApprovalDelegation.objects.create(approver=a, substitute=sub, start_date=today, end_date=today)
    ApprovalDelegation.objects.create(
        approver=a, substitute=old_sub, start_date=today - timedelta(days=9), end_date=today - timedelta(days=1)
    )
    enable_email(sub)
    pr = make_pr(maker=maker, steps=[("anyof", [a, b])], request=True)
    assert told(pr) == sorted([a.pk, b.pk, sub.pk])  # the expired delegation tells no one
    n = Notification.objects.get(pr=pr, recipient=sub)
    assert n.on_behalf_of_id == a.pk and str(a) in n.body
    assert NotificationDelivery.objects.get().notification == n


def test_a_user_both_approver_and_substitute_is_told_once(maker):
    a, b = approver_users(2)
    today = timezone.localdate()
    ApprovalDelegation.objects.create(approver=a, substitute=b, start_date=today, end_date=today)
    pr = make_pr(maker=maker, steps=[("anyof", [a, b])], request=True)
    assert told(pr) == sorted([a.pk, b.pk])
    assert Notification.objects.get(pr=pr, recipient=b).on_behalf_of_id is None


def test_inactive_users_and_users_without_any_channel_are_not_told(maker):
    a, b, c, d = approver_users(4)
    pr = make_pr(maker=maker, steps=[("anyof", [a]), ("anyof", [b, c, d])], request=True)
    b.is_active = False  # left the company while the PR was pending
    b.save(update_fields=["is_active"])
    notification_services.notification_preference_update(user=c, in_app=False, email=False)
    services.payment_request_approve(pr=pr, actor=a)
    assert told(pr, "step_advanced") == [d.pk]


def test_email_only_preference_writes_a_hidden_notification_and_a_delivery(maker):
    (a,) = approver_users(1)
    enable_email(a, in_app=False)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    n = Notification.objects.get(pr=pr)
    assert not n.in_app
    d = NotificationDelivery.objects.get()
    assert (d.notification_id, d.status, d.attempts, d.address) == (n.pk, "pending", 0, a.email)


def test_outbox_is_discarded_when_the_approval_rolls_back(maker):
    a, b = approver_users(2)
    enable_email(b)
    pr = make_pr(maker=maker, steps=[("anyof", [a]), ("anyof", [b])], request=True)
    before = (Notification.objects.count(), NotificationDelivery.objects.count())

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        services.payment_request_approve(pr=pr, actor=a)
        assert told(pr, "step_advanced") == [b.pk]  # written inside the transaction …
        raise Boom
    assert (Notification.objects.count(), NotificationDelivery.objects.count()) == before  # … and gone with it
    assert PaymentRequest.objects.get(pk=pr.pk).status == "pending"
    assert told(pr, "step_advanced") == []


def test_an_outbox_failure_never_fails_the_approval(maker, monkeypatch, caplog):
    a, b = approver_users(2)
    pr = make_pr(maker=maker, steps=[("anyof", [a]), ("anyof", [b])], request=True)

    def broken(*args, **kwargs):
        raise RuntimeError("template exploded")

    monkeypatch.setattr(notification_services.outbox, "_write", broken)
    services.payment_request_approve(pr=pr, actor=a)
    pr.refresh_from_db()
    assert pr.status == "pending" and pr.approval.current_step == 2
    assert told(pr, "step_advanced") == []
    assert "outbox write failed" in caplog.text


def test_bulk_approve_tells_each_prs_next_approvers(maker):
    a, b, c = approver_users(3)
    p1 = make_pr(maker=maker, steps=[("anyof", [a]), ("anyof", [b])], request=True)
    p2 = make_pr(maker=maker, steps=[("anyof", [a]), ("anyof", [c])], request=True)
    p3 = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    services.payment_requests_bulk_approve(ids=[p1.pk, p2.pk, p3.pk], actor=a)
    assert told(p1, "step_advanced") == [b.pk]
    assert told(p2, "step_advanced") == [c.pk]
    assert told(p3, "approved") == [maker.pk] and told(p3, "step_advanced") == []


def test_the_maker_is_not_asked_to_approve_their_own_request(maker, settings):
    settings.ALLOW_SELF_APPROVAL = False
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a, maker])], request=True)
    assert told(pr, "approval_requested") == [a.pk]


def test_bulk_approve_writes_the_outbox_in_a_fixed_number_of_statements(maker):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    a, b = approver_users(2)
    enable_email(b, maker)

    def bulk(n: int) -> int:
        prs = [make_pr(maker=maker, steps=[("anyof", [a]), ("anyof", [b])], request=True) for _ in range(n)]
        prs += [make_pr(maker=maker, steps=[("anyof", [a])], request=True) for _ in range(n)]
        with CaptureQueriesContext(connection) as ctx:
            services.payment_requests_bulk_approve(ids=[p.pk for p in prs], actor=a)
        return len([q for q in ctx.captured_queries if "notification" in q["sql"]])

    assert bulk(2) == bulk(10)
    assert NotificationDelivery.objects.filter(notification__kind="step_advanced").count() == 12
    assert NotificationDelivery.objects.filter(notification__kind="approved").count() == 12
