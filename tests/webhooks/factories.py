"""Webhook factories: endpoints through the service (a real secret), bare rows for the audit registry."""

from __future__ import annotations

from typing import Any

from tests.accounts.factories import UserFactory

ALL_TYPES = [
    "payment_request.approval_requested",
    "payment_request.new_payee",
    "payment_request.step_advanced",
    "payment_request.approved",
    "payment_request.rejected",
    "payment_request.completed",
    "payment_request.uncompleted",
    "payment_request.recalled",
    "payment_request.approval_retracted",
    "invoice.imported",
    "invoice.marked_obsolete",
]


def make_endpoint(
    *, owner: Any = None, url: str = "http://127.0.0.1:9/hooks", types: list[str] | None = None, is_active: bool = True
) -> Any:
    from payments.webhooks.services import webhook_endpoint_create

    owner = owner or UserFactory(roles=["owner"])
    return webhook_endpoint_create(actor=owner, url=url, event_types=types or ALL_TYPES, is_active=is_active)


# --- one bare row per table, for tests/audit/registry.py --------------------------------------------------
def audit_row_event() -> Any:
    from django.utils import timezone

    from payments.webhooks.models import Event

    return Event.objects.create(type="invoice.imported", occurred_at=timezone.now(), payload={"invoice": {"id": 1}})


def audit_row_endpoint() -> Any:
    from payments.webhooks.models import WebhookEndpoint

    return WebhookEndpoint.objects.create(url="https://hooks.example.vn/a", secret="s", event_types=ALL_TYPES)


def audit_row_delivery() -> Any:
    from payments.webhooks.models import WebhookDelivery

    return WebhookDelivery.objects.create(event=audit_row_event(), endpoint=audit_row_endpoint())
