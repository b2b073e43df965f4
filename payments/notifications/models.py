"""Approver notifications (docs/notifications.md): the message a person must hear about a PR, one
delivery row per outbound channel, and each user's channel choice.

`Notification` is both the in-app inbox entry and the outbox: it is written in the same
transaction as the approval change that caused it (via `payments.events`), so a rolled-back
approval leaves no trace. E-mail is a `NotificationDelivery` row (`pending`) that the
`dispatch_notifications` worker sends after commit and retries with backoff; the approval
never waits for, or fails because of, a mail server.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class NotificationKind(models.TextChoices):
    APPROVAL_REQUESTED = "approval_requested", _("Approval requested")
    STEP_ADVANCED = "step_advanced", _("Next approval step")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    COMPLETED = "completed", _("Completed")


class NotificationChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


D = DeliveryStatus
# The delivery state machine. `failed` rows are retried by the worker while attempts remain
# (`next_attempt_at` set); an owner's retry puts any failed row back to pending.
DELIVERY_TRANSITIONS: dict[str, dict[str, str]] = {
    "send": {D.PENDING: D.SENT, D.FAILED: D.SENT},
    "fail": {D.PENDING: D.FAILED, D.FAILED: D.FAILED},
    "retry": {D.FAILED: D.PENDING},
}


class Notification(models.Model):
    """One message to one person about one PR. `in_app` says whether it shows in the
    person's inbox (their preference when it was written); it may exist only to carry the
    content of an e-mail. `on_behalf_of` is set when the person is told as the substitute
    of an absent approver."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recipient"), on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=32, choices=NotificationKind.choices)
    pr = models.ForeignKey(
        "payments.PaymentRequest", verbose_name=_("payment request"), on_delete=models.CASCADE, related_name="+"
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("as substitute of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    title = models.CharField(_("title"), max_length=255)
    body = models.TextField(_("body"), blank=True)
    in_app = models.BooleanField(_("shown in the app"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    dismissed_at = models.DateTimeField(_("dismissed at"), null=True, blank=True)
    # Read and dismissed bump it (payments.notifications.services.inbox): `?updated_since=` (docs/API.md).
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        db_table = "notifications"
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in NotificationKind]), name="notifications_kind_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["recipient", "-created_at"],
                name="notifications_inbox_idx",
                condition=Q(in_app=True, dismissed_at__isnull=True),
            ),
            models.Index(
                fields=["recipient", "pr"], name="notifications_unread_pr_idx", condition=Q(read_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NotificationDelivery(models.Model):
    """The log of one outbound channel for one notification: what the worker must still do
    (`pending`, or `failed` with `next_attempt_at` set) and what happened (`sent`, or the last
    error). Claimed with SELECT … FOR UPDATE SKIP LOCKED, so workers never share a row."""

    notification = models.ForeignKey(
        Notification, verbose_name=_("notification"), on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(_("channel"), max_length=16, choices=NotificationChannel.choices)
    status = models.CharField(_("status"), max_length=16, choices=DeliveryStatus.choices, default=D.PENDING)
    address = models.CharField(_("address"), max_length=254, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        db_table = "notification_deliveries"
        ordering = ["-id"]
        verbose_name = _("notification delivery")
        verbose_name_plural = _("notification deliveries")
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel"], name="notification_deliveries_unique"),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in DeliveryStatus]), name="notification_deliveries_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=[c.value for c in NotificationChannel]),
                name="notification_deliveries_channel_valid",
            ),
            # sent rows are finished: nothing left to attempt.
            models.CheckConstraint(
                condition=~Q(status=D.SENT) | Q(next_attempt_at__isnull=True, sent_at__isnull=False),
                name="notification_deliveries_sent_final",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                name="notif_deliveries_due_idx",
                condition=Q(status__in=[D.PENDING, D.FAILED], next_attempt_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} #{self.notification_id}: {self.status}"


class NotificationPreference(models.Model):
    """Which channels a person wants. No row means the default: in-app only (e-mail is
    opt-in, because a mailbox full of approval noise gets ignored)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notification_preference",
    )
    in_app = models.BooleanField(_("in the app"), default=True)
    email = models.BooleanField(_("by e-mail"), default=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        db_table = "notification_preferences"
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return str(self.user)
