"""Factories for notifications: e-mail opt-in through the service, bare rows for the audit."""

from __future__ import annotations

from typing import Any

from tests.accounts.factories import UserFactory


def enable_email(*users: Any, in_app: bool = True) -> None:
    from payments.notifications.services import notification_preference_update

    for user in users:
        notification_preference_update(user=user, email=True, in_app=in_app)


# --- one bare row per table, for tests/audit/registry.py --------------------------------------------
def audit_row_notification() -> Any:
    from payments.notifications.models import Notification
    from tests.payments.factories import audit_row_pr

    pr = audit_row_pr()
    return Notification.objects.create(recipient=pr.maker, kind="approved", pr=pr, title="Audit")


def audit_row_delivery() -> Any:
    from payments.notifications.models import NotificationDelivery

    return NotificationDelivery.objects.create(notification=audit_row_notification(), channel="email")


def audit_row_preference() -> Any:
    from payments.notifications.models import NotificationPreference

    return NotificationPreference.objects.create(user=UserFactory())
