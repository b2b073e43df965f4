"""Demo notification preferences. Runs before the approvals demo, whose real services then
write the notifications through `payments.events` (nothing here fakes one): the director
gets e-mails too, which the `make run` worker prints to the console (no EMAIL_HOST)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

EMAIL_OPT_IN = ["giamdoc@acountee.local", "ketoan@acountee.local"]


def seed_notifications(log: Callable[[str], Any]) -> None:
    from accounts.models import User
    from payments.notifications.models import NotificationPreference
    from payments.notifications.services import notification_preference_update

    for user in User.objects.filter(email__in=EMAIL_OPT_IN):
        if NotificationPreference.objects.filter(user=user).exists():
            continue
        notification_preference_update(user=user, email=True)
        log(f"  {user.email}: in-app and e-mail notifications")
