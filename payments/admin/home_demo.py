"""Demo step for the admin home: every "what needs me" block has something to show. The payment requests demo
already leaves PRs awaiting each director, drafts and an approved PR; this adds one e-mail delivery that
failed (the mail server refused it for good, through the real dispatch service) so the owner sees the
failed-deliveries block, and prints each demo user's counts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class _RefusingMailServer:
    """A mail connection that refuses every message for good (the mailbox is gone), so the worker of
    `make run` does not retry it away before anyone looks."""

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def send_messages(self, messages: Any) -> int:
        from payments.notifications.services import PermanentFailure

        raise PermanentFailure("demo: 550 5.1.1 mailbox unavailable")


def seed_admin_home(log: Callable[[str], Any]) -> None:
    from accounts.models import User
    from payments.admin.home import needs_me
    from payments.notifications.models import DeliveryStatus, NotificationDelivery
    from payments.notifications.services import deliveries_dispatch

    if not NotificationDelivery.objects.filter(status=DeliveryStatus.FAILED).exists():
        result = deliveries_dispatch(limit=1, connection=_RefusingMailServer())
        if result.failed:
            log(f"  delivery #{result.failed[0]} failed (mailbox unavailable): owners see it on the home page")
    for user in User.objects.filter(email__endswith="@acountee.local", is_active=True).order_by("email"):
        counts = ", ".join(f"{item.key} {item.count}" for item in needs_me(user) if item.count)
        log(f"  {user.email}: {counts or 'nothing waiting'}")
