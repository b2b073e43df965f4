"""The back office: owners add an endpoint (the secret shown once), change and delete it through the services,
and redeliver from the delivery log; nobody else sees either page."""

from __future__ import annotations

import pytest
from django.test import Client

from audit.models import AuditEntry
from payments.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.webhooks.factories import audit_row_delivery, make_endpoint

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_owner_adds_an_endpoint_and_reads_its_secret_once(owner):
    client = signed_in(owner)
    answer = client.post(
        "/admin/webhooks/webhookendpoint/add/",
        {
            "url": "https://erp.example.vn/hooks",
            "description": "ERP",
            "event_types": ["payment_request.approved", "invoice.imported"],
            "is_active": "on",
        },
        follow=True,
    )
    assert answer.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret in answer.content.decode()
    assert endpoint.event_types == ["payment_request.approved", "invoice.imported"]
    assert AuditEntry.objects.filter(table_name="webhook_endpoints", action="create_webhook").exists()
    page = client.get(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert endpoint.secret not in page  # never again


def test_a_plain_http_url_is_refused_with_the_reason(owner):
    answer = signed_in(owner).post(
        "/admin/webhooks/webhookendpoint/add/",
        {"url": "http://erp.example.vn/hooks", "event_types": ["invoice.imported"], "is_active": "on"},
        follow=True,
    )
    assert "https" in answer.content.decode() and not WebhookEndpoint.objects.exists()


def test_owner_deletes_through_the_service(owner):
    endpoint = make_endpoint(owner=owner)
    answer = signed_in(owner).post(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/delete/", {"post": "yes"})
    assert answer.status_code == 302 and not WebhookEndpoint.objects.exists()
    assert AuditEntry.objects.filter(table_name="webhook_endpoints", action="delete_webhook").exists()


def test_redeliver_action(owner):
    delivery = audit_row_delivery()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", attempts=8, last_error="HTTP 500")
    signed_in(owner).post(
        "/admin/webhooks/webhookdelivery/",
        {"action": "redeliver", "_selected_action": [delivery.pk]},
    )
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 0)


def test_only_owners_see_the_pages(finance):
    client = signed_in(finance)
    assert client.get("/admin/webhooks/webhookendpoint/").status_code == 403
    assert client.get("/admin/webhooks/webhookdelivery/").status_code == 403


def test_the_demo_has_one_inactive_endpoint_and_is_idempotent():
    from accounts.demo import seed_accounts
    from payments.webhooks.demo import DEMO_URL, seed_webhooks

    lines: list[str] = []
    for _ in range(2):
        seed_accounts(lines.append)
        seed_webhooks(lines.append)
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.url == DEMO_URL and not endpoint.is_active
