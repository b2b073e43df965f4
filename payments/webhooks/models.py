"""Webhooks and the events feed (docs/webhooks.md).

`Event` is the durable record of something that happened to a payment request or an invoice, written in the
same transaction as the change (through `payments.events` and the invoice importer's signal), so a rolled-back
change leaves no event and no webhook. Its id is the events feed's cursor: ids become visible in increasing
order (the writer serialises event inserts until commit, `services.recording`), so a client that read up to
id N never later finds an id below N.

`WebhookDelivery` is the outbox: one row per event and subscribed endpoint, written with the event, sent after
commit by the `dispatch_notifications` worker, retried with backoff, then `failed`.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class EventType(models.TextChoices):
    APPROVAL_REQUESTED = "payment_request.approval_requested", _("Approval requested")
    NEW_PAYEE = "payment_request.new_payee", _("New payee account")
    STEP_ADVANCED = "payment_request.step_advanced", _("Approval step advanced")
    APPROVED = "payment_request.approved", _("Payment request approved")
    REJECTED = "payment_request.rejected", _("Payment request rejected")
    COMPLETED = "payment_request.completed", _("Payment request paid")
    UNCOMPLETED = "payment_request.uncompleted", _("Payment request un-completed")
    RECALLED = "payment_request.recalled", _("Payment request recalled by its maker")
    APPROVAL_RETRACTED = "payment_request.approval_retracted", _("Approval retracted")
    INVOICE_IMPORTED = "invoice.imported", _("Invoice imported")
    INVOICE_OBSOLETE = "invoice.marked_obsolete", _("Invoice marked obsolete")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class Event(models.Model):
    """What happened, once, with a payload of stable English keys (docs/webhooks.md): the body of every webhook
    sent for it and an entry of the events feed. Never changed after it is written."""

    id = models.BigAutoField(primary_key=True)
    type = models.CharField(_("event type"), max_length=64, choices=EventType.choices)
    occurred_at = models.DateTimeField(_("occurred at"))
    payload = models.JSONField(_("payload"))

    class Meta:
        db_table = "events"
        ordering = ["id"]
        verbose_name = _("event")
        verbose_name_plural = _("events")
        default_permissions = ()
        permissions = [("view_event_feed", _("Can read the events feed"))]
        constraints = [
            models.CheckConstraint(condition=Q(type__in=[t.value for t in EventType]), name="events_type_valid"),
        ]
        indexes = [models.Index(fields=["type", "id"], name="events_type_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.type}"


class WebhookEndpoint(models.Model):
    """An owner's subscription: where to POST which events. The secret signs every body (HMAC-SHA256); it is
    made by the server and shown once, when the endpoint is created or its secret rotated. After a rotation the
    old secret still signs (a second `v1=`) until `previous_secret_expires_at`, so receivers can switch."""

    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    secret = models.CharField(_("signing secret"), max_length=100, editable=False)
    previous_secret = models.CharField(_("previous signing secret"), max_length=100, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(
        _("previous secret signs until"), null=True, blank=True, editable=False
    )
    event_types = ArrayField(
        models.CharField(max_length=64, choices=EventType.choices), verbose_name=_("events"), default=list
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        db_table = "webhook_endpoints"
        ordering = ["id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint: what the worker must still do (`pending`, due at `next_attempt_at`) and
    what happened (`delivered`, or the last answer or error; `failed` once the attempts are used up)."""

    event = models.ForeignKey(Event, verbose_name=_("event"), on_delete=models.PROTECT, related_name="deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint, verbose_name=_("endpoint"), on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    last_response_code = models.PositiveSmallIntegerField(_("last response code"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        db_table = "webhook_deliveries"
        ordering = ["-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhook_deliveries_unique"),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in DeliveryStatus]), name="webhook_deliveries_status_valid"
            ),
            # finished rows have nothing left to attempt.
            models.CheckConstraint(
                condition=Q(status=DeliveryStatus.PENDING) | Q(next_attempt_at__isnull=True),
                name="webhook_deliveries_final",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                name="webhook_deliveries_due_idx",
                condition=Q(status=DeliveryStatus.PENDING),
            ),
            models.Index(fields=["endpoint", "-id"], name="webhook_deliveries_log_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint_id} #{self.event_id}: {self.status}"
