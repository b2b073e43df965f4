"""The demo: preferences first, then the payment requests demo's real transitions notify people."""

from __future__ import annotations

import pytest

from accounts.demo import seed_accounts
from approvals.demo import seed_flows
from payments.demo import seed_payment_requests, seed_payments
from payments.management.commands.seed_demo import DEMO_STEPS
from payments.notifications.demo import seed_notifications
from payments.notifications.models import Notification, NotificationDelivery
from payments.notifications.services import deliveries_dispatch

pytestmark = pytest.mark.django_db


def test_demo_notifies_through_the_real_services_and_is_idempotent(mailoutbox):
    names = [name for name, _ in DEMO_STEPS]
    assert names.index("notifications") < names.index("payment requests")
    lines: list[str] = []
    for _ in range(2):
        seed_accounts(lines.append)
        seed_notifications(lines.append)
        seed_payments(lines.append)
        seed_flows(lines.append)
        seed_payment_requests(lines.append)
    kinds = set(Notification.objects.values_list("kind", flat=True))
    assert kinds == {"approval_requested", "step_advanced", "approved", "rejected", "completed"}
    assert Notification.objects.filter(recipient__email="giamdoc@acountee.local").exists()
    assert NotificationDelivery.objects.filter(status="pending").exists()
    deliveries_dispatch()
    assert mailoutbox and not NotificationDelivery.objects.exclude(status="sent").exists()
