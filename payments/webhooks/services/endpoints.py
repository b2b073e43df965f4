"""Owners manage webhook endpoints and redeliver (docs/webhooks.md); each change has a semantic audit entry
beside the row trigger's."""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from acountee.errors import InvalidState, NotFoundError, NotOwner, ValidationFailed
from payments.webhooks.audit_actions import TABLE_DELIVERIES, TABLE_ENDPOINTS, DeliveryAction, EndpointAction
from payments.webhooks.models import DeliveryStatus, EventType, WebhookDelivery, WebhookEndpoint
from payments.webhooks.services.common import WAKE_CHANNEL

if TYPE_CHECKING:
    from accounts.models import User

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def _ensure_owner(actor: Any) -> None:
    if actor is None or not getattr(actor, "is_owner", False):
        raise NotOwner()


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details={field: [message]})


def _is_local(host: str) -> bool:
    if host in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def webhook_url_check(url: str) -> str:
    """https only; plain http only to this machine (localhost, 127.0.0.1, ::1) and never in production."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 (a malformed port raises here)
    except ValueError:
        raise _invalid("url", _("Enter a valid URL.")) from None
    if not host or parts.scheme not in ("https", "http") or len(url) > 500:
        raise _invalid("url", _("Enter a valid URL."))
    if parts.username or parts.password:
        raise _invalid("url", _("The URL must not contain a user name or password."))
    if parts.scheme == "http" and (settings.PRODUCTION or not _is_local(host)):
        raise _invalid("url", _("Webhook URLs must use https (plain http only to localhost outside production)."))
    return url


def _event_types(values: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(values))
    known = set(EventType.values)
    unknown = [v for v in chosen if v not in known]
    if unknown or not chosen:
        raise _invalid("event_types", _("Choose at least one event among the known types."))
    return chosen


def _snapshot(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types),
        "is_active": endpoint.is_active,
    }


def webhook_endpoint_create(
    *,
    actor: User,
    url: str,
    event_types: Iterable[str],
    description: str = "",
    is_active: bool = True,
) -> WebhookEndpoint:
    """A new endpoint with a server-made secret (returned on this object once; the API shows it only in the
    answer to the creation)."""
    from audit.services import audit_log

    _ensure_owner(actor)
    endpoint = WebhookEndpoint(
        url=webhook_url_check(url),
        event_types=_event_types(event_types),
        description=(description or "").strip(),
        is_active=is_active,
        secret=_new_secret(),
        created_by=actor,
    )
    with transaction.atomic():
        endpoint.save()
        audit_log(
            action=EndpointAction.CREATE,
            table=TABLE_ENDPOINTS,
            record_id=endpoint.pk,
            actor=actor,
            metadata=_snapshot(endpoint),
        )
    return endpoint


def webhook_endpoint_update(*, endpoint: WebhookEndpoint, actor: User, **changes: Any) -> WebhookEndpoint:
    """Change url, description, event_types or is_active (the secret never changes here)."""
    from audit.services import audit_log

    _ensure_owner(actor)
    allowed = {"url", "description", "event_types", "is_active"}
    if set(changes) - allowed:
        raise _invalid(sorted(set(changes) - allowed)[0], _("This field cannot be changed."))
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint.pk).first()
        if locked is None:
            raise NotFoundError(_("Webhook endpoint not found."), code="WEBHOOK_NOT_FOUND")
        before = _snapshot(locked)
        if "url" in changes:
            locked.url = webhook_url_check(changes["url"])
        if "event_types" in changes:
            locked.event_types = _event_types(changes["event_types"])
        if "description" in changes:
            locked.description = (changes["description"] or "").strip()
        if "is_active" in changes:
            locked.is_active = bool(changes["is_active"])
        after = _snapshot(locked)
        locked.save()
        if locked.is_active and not before["is_active"]:
            _wake()  # deliveries that waited while it was inactive are due
        audit_log(
            action=EndpointAction.UPDATE,
            table=TABLE_ENDPOINTS,
            record_id=locked.pk,
            actor=actor,
            metadata={k: {"old": before[k], "new": after[k]} for k in after if before[k] != after[k]},
        )
    return locked


MAX_OVERLAP_HOURS = 24 * 7


def _new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def webhook_endpoint_rotate_secret(
    *, endpoint: WebhookEndpoint, actor: User, overlap_hours: float | None = None
) -> WebhookEndpoint:
    """A new signing secret (returned on this object once). For `overlap_hours` (WEBHOOK_SECRET_OVERLAP_HOURS by
    default, 0 to stop the old secret at once, at most a week) deliveries are signed with both, the new one
    first, so receivers can switch without refusing a webhook. Rotating again during an overlap drops the
    oldest secret: only the one being replaced keeps signing. The audit entry records the window, never a
    secret."""
    from audit.services import audit_log

    _ensure_owner(actor)
    hours = settings.WEBHOOK_SECRET_OVERLAP_HOURS if overlap_hours is None else overlap_hours
    if not 0 <= hours <= MAX_OVERLAP_HOURS:
        raise _invalid("overlap_hours", _("Between 0 and %(max)d hours.") % {"max": MAX_OVERLAP_HOURS})
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint.pk).first()
        if locked is None:
            raise NotFoundError(_("Webhook endpoint not found."), code="WEBHOOK_NOT_FOUND")
        now = timezone.now()
        if hours > 0:
            locked.previous_secret = locked.secret
            locked.previous_secret_expires_at = now + timedelta(hours=hours)
        else:
            locked.previous_secret, locked.previous_secret_expires_at = "", None
        locked.secret = _new_secret()
        locked.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
        audit_log(
            action=EndpointAction.ROTATE_SECRET,
            table=TABLE_ENDPOINTS,
            record_id=locked.pk,
            actor=actor,
            metadata={
                "overlap_hours": hours,
                "previous_secret_expires_at": (
                    locked.previous_secret_expires_at.isoformat() if locked.previous_secret_expires_at else None
                ),
            },
        )
    return locked


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint, actor: User) -> None:
    """Delete the endpoint and its delivery log (the audit log keeps both)."""
    from audit.services import audit_log

    _ensure_owner(actor)
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint.pk).first()
        if locked is None:
            raise NotFoundError(_("Webhook endpoint not found."), code="WEBHOOK_NOT_FOUND")
        audit_log(
            action=EndpointAction.DELETE,
            table=TABLE_ENDPOINTS,
            record_id=locked.pk,
            actor=actor,
            metadata={**_snapshot(locked), "deliveries": locked.deliveries.count()},
        )
        locked.delete()


def webhook_delivery_redeliver(*, delivery: WebhookDelivery, actor: User) -> WebhookDelivery:
    """An owner sends a delivered or failed delivery again: pending, due now, with a fresh round of attempts
    (the audit entry keeps the previous count, answer and error)."""
    from audit.services import audit_log

    _ensure_owner(actor)
    with transaction.atomic():
        locked = WebhookDelivery.objects.select_for_update().filter(pk=delivery.pk).first()
        if locked is None:
            raise NotFoundError(_("Delivery not found."), code="DELIVERY_NOT_FOUND")
        if locked.status == DeliveryStatus.PENDING:
            raise InvalidState(
                _("This delivery is already waiting to be sent."),
                code="DELIVERY_PENDING",
                details={"status": locked.status},
            )
        previous = {
            "status": locked.status,
            "attempts": locked.attempts,
            "last_response_code": locked.last_response_code,
            "last_error": locked.last_error[:200],
        }
        locked.status = DeliveryStatus.PENDING
        locked.attempts = 0
        locked.next_attempt_at = timezone.now()
        locked.save(update_fields=["status", "attempts", "next_attempt_at", "updated_at"])
        _wake()
        audit_log(
            action=DeliveryAction.REDELIVER,
            table=TABLE_DELIVERIES,
            record_id=locked.pk,
            actor=actor,
            metadata=previous,
        )
    return locked


def webhook_deliveries_redeliver(*, ids: Iterable[int], actor: User) -> int:
    """The admin action: redeliver each finished delivery among `ids`; pending ones are skipped."""
    _ensure_owner(actor)
    done = 0
    for pk in sorted(set(ids)):
        try:
            webhook_delivery_redeliver(delivery=WebhookDelivery(pk=pk), actor=actor)
        except (InvalidState, NotFoundError):
            continue
        done += 1
    return done


def _wake() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, '')", [WAKE_CHANNEL])
