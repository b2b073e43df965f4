"""A demo webhook endpoint (idempotent), made through the service by the demo owner: inactive, pointing at the
discard port of this machine, so the admin page shows one and nothing is ever sent. The payment requests demo's
real transitions fill the events feed (`GET /api/events/`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

DEMO_URL = "http://127.0.0.1:9/acountee-webhooks"
DEMO_OWNER = "owner@acountee.local"


def seed_webhooks(log: Callable[[str], Any]) -> None:
    from accounts.models import User
    from payments.webhooks.models import EventType, WebhookEndpoint
    from payments.webhooks.services import webhook_endpoint_create

    owner = User.objects.filter(email=DEMO_OWNER).first()
    if owner is None or WebhookEndpoint.objects.filter(url=DEMO_URL).exists():
        return
    webhook_endpoint_create(
        actor=owner,
        url=DEMO_URL,
        description="Demo: hệ thống ERP (đang tắt)",
        event_types=list(EventType.values),
        is_active=False,
    )
    log(f"  webhook endpoint {DEMO_URL} (inactive)")
