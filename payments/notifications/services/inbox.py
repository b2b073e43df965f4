"""A person's inbox and preferences: read, dismiss, mark all read, choose channels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from acountee import live
from acountee.errors import NotFoundError
from payments.notifications.models import (
    Notification,
    NotificationPreference,
)

if TYPE_CHECKING:
    from accounts.models import User


# --- inbox ---------------------------------------------------------------------------------------------
def _own(notification_id: int, user: User) -> Notification:
    notification = (
        Notification.objects.select_for_update()
        .filter(pk=notification_id, recipient=user, in_app=True, dismissed_at__isnull=True)
        .first()
    )
    if notification is None:
        raise NotFoundError(_("Notification not found."), code="NOTIFICATION_NOT_FOUND")
    return notification


def notification_mark_read(*, notification_id: int, user: User) -> Notification:
    """Mark one of the user's notifications read (again is fine: nothing changes)."""
    with transaction.atomic():
        notification = _own(notification_id, user)
        if notification.read_at is None:
            notification.read_at = timezone.now()
            notification.save(update_fields=["read_at", "updated_at"])
            live.unread_changed([user.pk])
    return notification


def notification_dismiss(*, notification_id: int, user: User) -> Notification:
    """Remove one of the user's notifications from their inbox (it counts as read)."""
    with transaction.atomic():
        notification = _own(notification_id, user)
        now = timezone.now()
        notification.dismissed_at = now
        notification.read_at = notification.read_at or now
        notification.save(update_fields=["dismissed_at", "read_at", "updated_at"])
        live.unread_changed([user.pk])
    return notification


def notifications_mark_all_read(*, user: User) -> int:
    """Mark every unread notification of the user read; returns how many changed. The user's other
    pages hear of it (their bells, docs/live.md)."""
    with transaction.atomic():
        changed = Notification.objects.filter(recipient=user, in_app=True, read_at__isnull=True).update(
            read_at=timezone.now(), updated_at=timezone.now()
        )
        if changed:
            live.unread_changed([user.pk])
    return changed


def notifications_mark_read_for_pr(*, user: Any, pr_id: int) -> int:
    """The user opened the PR (API detail or admin page): its notifications are read. One
    indexed read when there is nothing unread (the usual case: no write, no audit context),
    and an UPDATE only when there is."""
    if not getattr(user, "is_authenticated", False):
        return 0
    unread = Notification.objects.filter(recipient=user, pr_id=pr_id, read_at__isnull=True)
    if not unread.exists():
        return 0
    with transaction.atomic():
        changed = unread.update(read_at=timezone.now(), updated_at=timezone.now())
        if changed:
            live.unread_changed([user.pk])
    return changed


def notification_preference_update(
    *, user: User, in_app: bool | None = None, email: bool | None = None
) -> NotificationPreference:
    """Change the user's own channels; unspecified channels keep their value."""
    with transaction.atomic():
        pref, _created = NotificationPreference.objects.select_for_update().get_or_create(user=user)
        changed = []
        if in_app is not None and pref.in_app != in_app:
            pref.in_app = bool(in_app)
            changed.append("in_app")
        if email is not None and pref.email != email:
            pref.email = bool(email)
            changed.append("email")
        if changed:
            pref.save(update_fields=[*changed, "updated_at"])
    return pref
