"""Secret rotation: a new secret shown once, the previous one signing beside it (a second `v1=`) for the overlap,
then the new one alone; audited without the secrets; owners only, in the API and the admin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from acountee.errors import NotOwner, ValidationFailed
from audit.models import AuditEntry
from payments import services
from payments.webhooks.models import WebhookEndpoint
from payments.webhooks.services import webhook_deliveries_dispatch, webhook_endpoint_rotate_secret
from tests.approvals.factories import approver_users
from tests.payments.factories import make_pr
from tests.webhooks.factories import make_endpoint
from tests.webhooks.receiver import running_receiver
from tests.webhooks.test_delivery import documented_verify

pytestmark = pytest.mark.django_db


def v1_entries(header: str) -> list[str]:
    return [part.split("=", 1)[1] for part in header.split(",") if part.startswith("v1=")]


def approve(maker):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    services.payment_request_approve(pr=pr, actor=a)


def test_during_the_overlap_both_secrets_sign_then_only_the_new_one(maker, owner, settings):
    settings.WEBHOOK_SECRET_OVERLAP_HOURS = 24
    verify = documented_verify()
    with running_receiver() as receiver:
        endpoint = make_endpoint(owner=owner, url=receiver.url, types=["payment_request.approved"])
        old = endpoint.secret
        rotated = webhook_endpoint_rotate_secret(endpoint=endpoint, actor=owner)
        assert rotated.secret != old and rotated.secret.startswith("whsec_")
        expires = rotated.previous_secret_expires_at
        assert timedelta(hours=23, minutes=59) < expires - timezone.now() <= timedelta(hours=24)
        approve(maker)
        assert len(webhook_deliveries_dispatch().delivered) == 1
        header = receiver.requests[0].headers["Acountee-Signature"]
        body = receiver.requests[0].body
        assert len(v1_entries(header)) == 2
        # A receiver still on the old secret and one already on the new one both accept it.
        assert verify(old, header, body) and verify(rotated.secret, header, body)
        assert not verify("whsec_other", header, body)

        # After the overlap the old secret no longer signs.
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
        )
        approve(maker)
        assert len(webhook_deliveries_dispatch().delivered) == 1
        header, body = receiver.requests[1].headers["Acountee-Signature"], receiver.requests[1].body
        assert len(v1_entries(header)) == 1
        assert verify(rotated.secret, header, body) and not verify(old, header, body)


def test_overlap_zero_stops_the_old_secret_at_once_and_a_second_rotation_keeps_one_previous(owner):
    endpoint = make_endpoint(owner=owner)
    first = endpoint.secret
    second = webhook_endpoint_rotate_secret(endpoint=endpoint, actor=owner, overlap_hours=2).secret
    third = webhook_endpoint_rotate_secret(endpoint=endpoint, actor=owner, overlap_hours=2)
    assert third.previous_secret == second and first not in (third.secret, third.previous_secret)
    fourth = webhook_endpoint_rotate_secret(endpoint=endpoint, actor=owner, overlap_hours=0)
    fourth.refresh_from_db()
    assert fourth.previous_secret == "" and fourth.previous_secret_expires_at is None


def test_rotation_is_audited_without_secrets_and_refused_to_others(owner, maker):
    endpoint = make_endpoint(owner=owner)
    with pytest.raises(NotOwner):
        webhook_endpoint_rotate_secret(endpoint=endpoint, actor=maker)
    with pytest.raises(ValidationFailed):
        webhook_endpoint_rotate_secret(endpoint=endpoint, actor=owner, overlap_hours=169)
    rotated = webhook_endpoint_rotate_secret(endpoint=endpoint, actor=owner, overlap_hours=6)
    entry = AuditEntry.objects.get(table_name="webhook_endpoints", action="rotate_webhook_secret")
    assert entry.record_id == str(endpoint.pk) and entry.metadata["overlap_hours"] == 6
    assert entry.metadata["previous_secret_expires_at"] == rotated.previous_secret_expires_at.isoformat()
    everything = str(list(AuditEntry.objects.values_list("metadata", "before", "after")))
    assert rotated.secret not in everything and rotated.previous_secret not in everything


def test_the_api_rotates_and_shows_the_new_secret_once(owner_client, client_for, finance, owner):
    endpoint = make_endpoint(owner=owner)
    refused = client_for(finance).post(f"/api/webhooks/{endpoint.pk}/rotate-secret/", {}, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "NOT_OWNER"
    answer = owner_client.post(f"/api/webhooks/{endpoint.pk}/rotate-secret/", {"overlap_hours": 1}, format="json")
    assert answer.status_code == 200, answer.json()
    endpoint.refresh_from_db()
    assert answer.json()["secret"] == endpoint.secret and endpoint.previous_secret
    assert answer.json()["previous_secret_expires_at"] is not None
    read = owner_client.get(f"/api/webhooks/{endpoint.pk}/").json()
    assert "secret" not in read and read["previous_secret_expires_at"] == answer.json()["previous_secret_expires_at"]
    bad = owner_client.post(f"/api/webhooks/{endpoint.pk}/rotate-secret/", {"overlap_hours": -1}, format="json")
    assert bad.status_code == 400


def test_the_admin_action_rotates_and_shows_the_secret_once(owner):
    endpoint = make_endpoint(owner=owner)
    client = Client()
    client.force_login(owner)
    answer = client.post(
        "/admin/webhooks/webhookendpoint/",
        {"action": "rotate_secret", "_selected_action": [endpoint.pk]},
        follow=True,
    )
    assert answer.status_code == 200
    endpoint.refresh_from_db()
    assert endpoint.secret in answer.content.decode() and endpoint.previous_secret
    assert AuditEntry.objects.filter(action="rotate_webhook_secret", record_id=str(endpoint.pk)).exists()
