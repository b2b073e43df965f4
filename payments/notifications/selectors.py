"""Reads of the notifications capability. A user's inbox is always filtered by recipient
here, so no view can list someone else's notifications (their ids are simply not found)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet

from payments.notifications.models import Notification, NotificationDelivery, NotificationPreference

if TYPE_CHECKING:
    from accounts.models import User


def notification_inbox(*, user: Any, unread: bool | None = None) -> QuerySet[Notification]:
    """The user's in-app notifications that are not dismissed, newest first."""
    qs = Notification.objects.filter(recipient=user, in_app=True, dismissed_at__isnull=True)
    if unread is True:
        qs = qs.filter(read_at__isnull=True)
    elif unread is False:
        qs = qs.filter(read_at__isnull=False)
    return qs.select_related("pr", "on_behalf_of").order_by("-created_at", "-id")


def notification_unread_count(*, user: User) -> int:
    return Notification.objects.filter(
        recipient=user, in_app=True, dismissed_at__isnull=True, read_at__isnull=True
    ).count()


def notification_preference_get(*, user: User) -> NotificationPreference:
    """The stored preference, or an unsaved one holding the defaults (in-app only)."""
    return NotificationPreference.objects.filter(user=user).first() or NotificationPreference(user=user)


def delivery_log() -> QuerySet[NotificationDelivery]:
    """Every delivery with its notification and recipient (owners' view), newest first."""
    return NotificationDelivery.objects.select_related(
        "notification", "notification__recipient", "notification__pr"
    ).order_by("-id")
