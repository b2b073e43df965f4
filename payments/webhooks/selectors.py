"""Reads of the webhooks capability: the endpoints, their delivery log and the events feed."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from payments.webhooks.models import Event, WebhookDelivery, WebhookEndpoint

FEED_PERMISSION = "webhooks.view_event_feed"


def can_read_events(user: Any) -> bool:
    """Owners, and holders of `webhooks.view_event_feed` (granted through a role)."""
    if not user or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(getattr(user, "is_owner", False) or user.has_perm(FEED_PERMISSION))


def endpoint_list() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.select_related("created_by").order_by("id")


def delivery_log(*, endpoint_id: int | None = None) -> QuerySet[WebhookDelivery]:
    """Deliveries with their event and endpoint, newest first."""
    qs = WebhookDelivery.objects.select_related("event", "endpoint")
    if endpoint_id is not None:
        qs = qs.filter(endpoint_id=endpoint_id)
    return qs.order_by("-id")


def events_after(*, after: int, limit: int, types: list[str] | None = None) -> list[Event]:
    """The feed: events with an id above `after`, ascending, at most `limit` (one indexed query)."""
    qs = Event.objects.filter(pk__gt=after)
    if types:
        qs = qs.filter(type__in=types)
    return list(qs.order_by("id")[:limit])
