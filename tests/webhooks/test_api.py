"""The owners' API (`/api/webhooks/`, deliveries, redeliver) and the events feed (`/api/events/`)."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry
from payments import services
from payments.webhooks.models import Event, WebhookDelivery, WebhookEndpoint
from tests.approvals.factories import approver_users
from tests.payments.factories import grant, make_pr
from tests.webhooks.factories import make_endpoint

pytestmark = pytest.mark.django_db


def test_owner_creates_an_endpoint_and_sees_the_secret_once(owner_client, owner):
    answer = owner_client.post(
        "/api/webhooks/",
        {"url": "https://erp.example.vn/hooks", "event_types": ["payment_request.approved"], "description": "ERP"},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret == body["secret"] and endpoint.created_by == owner
    read = owner_client.get(f"/api/webhooks/{endpoint.pk}/").json()
    assert "secret" not in read and read["url"] == "https://erp.example.vn/hooks"
    assert "secret" not in owner_client.get("/api/webhooks/").json()["results"][0]
    entry = AuditEntry.objects.filter(table_name="webhook_endpoints", action="create_webhook").get()
    assert entry.metadata["url"] == "https://erp.example.vn/hooks"


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("http://erp.example.vn/hooks", "url"),
        ("ftp://127.0.0.1/x", "url"),
        ("https://user:pw@erp.example.vn/", "url"),
        ("not a url", "url"),
    ],
)
def test_bad_urls_are_refused(owner_client, url, field):
    answer = owner_client.post("/api/webhooks/", {"url": url, "event_types": ["invoice.imported"]}, format="json")
    assert answer.status_code == 400 and field in answer.json()["error"]["details"]
    assert not WebhookEndpoint.objects.exists()


def test_http_to_localhost_only_outside_production(owner, settings):
    from acountee.errors import ValidationFailed
    from payments.webhooks.services import webhook_url_check

    assert webhook_url_check("http://127.0.0.1:8080/h") == "http://127.0.0.1:8080/h"
    assert webhook_url_check("http://localhost/h") == "http://localhost/h"
    settings.PRODUCTION = True
    with pytest.raises(ValidationFailed):
        webhook_url_check("http://127.0.0.1:8080/h")
    assert webhook_url_check("https://erp.example.vn/h")


def test_unknown_event_types_and_fields_are_refused(owner_client):
    bad = owner_client.post("/api/webhooks/", {"url": "https://a.vn/", "event_types": ["pr.paid"]}, format="json")
    assert bad.status_code == 400
    none = owner_client.post("/api/webhooks/", {"url": "https://a.vn/", "event_types": []}, format="json")
    assert none.status_code == 400
    secret = owner_client.post(
        "/api/webhooks/", {"url": "https://a.vn/", "event_types": ["invoice.imported"], "secret": "x"}, format="json"
    )
    assert secret.status_code == 400


def test_patch_and_delete_are_audited(owner_client, owner):
    endpoint = make_endpoint(owner=owner, url="https://a.vn/h")
    answer = owner_client.patch(
        f"/api/webhooks/{endpoint.pk}/", {"is_active": False, "event_types": ["invoice.imported"]}, format="json"
    )
    assert answer.status_code == 200 and answer.json()["is_active"] is False
    update = AuditEntry.objects.get(table_name="webhook_endpoints", action="update_webhook")
    assert update.metadata["is_active"] == {"old": True, "new": False}
    assert owner_client.delete(f"/api/webhooks/{endpoint.pk}/").status_code == 204
    assert not WebhookEndpoint.objects.exists()
    assert AuditEntry.objects.filter(table_name="webhook_endpoints", action="delete_webhook").exists()


def test_only_owners_manage_webhooks(client_for, finance, owner):
    endpoint = make_endpoint(owner=owner)
    client = client_for(finance)
    for method, url in [
        ("get", "/api/webhooks/"),
        ("post", "/api/webhooks/"),
        ("get", f"/api/webhooks/{endpoint.pk}/"),
        ("delete", f"/api/webhooks/{endpoint.pk}/"),
        ("get", f"/api/webhooks/{endpoint.pk}/deliveries/"),
    ]:
        answer = getattr(client, method)(url, {}, format="json") if method == "post" else getattr(client, method)(url)
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "NOT_OWNER", (method, url)
    assert WebhookEndpoint.objects.count() == 1


def _approved(maker, endpoint):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    services.payment_request_approve(pr=pr, actor=a)
    return pr


def test_delivery_log_and_redeliver(owner_client, owner, maker):
    endpoint = make_endpoint(owner=owner, types=["payment_request.approved"])
    _approved(maker, endpoint)
    log = owner_client.get(f"/api/webhooks/{endpoint.pk}/deliveries/").json()
    assert log["count"] == 1
    (row,) = log["results"]
    assert row["event_type"] == "payment_request.approved" and row["status"] == "pending"
    pending = owner_client.post(f"/api/webhook-deliveries/{row['id']}/redeliver/")
    assert pending.status_code == 409 and pending.json()["error"]["code"] == "DELIVERY_PENDING"
    WebhookDelivery.objects.filter(pk=row["id"]).update(
        status="failed", attempts=8, next_attempt_at=None, last_error="HTTP 500"
    )
    answer = owner_client.post(f"/api/webhook-deliveries/{row['id']}/redeliver/")
    assert answer.status_code == 200 and answer.json()["status"] == "pending" and answer.json()["attempts"] == 0
    entry = AuditEntry.objects.get(table_name="webhook_deliveries", action="redeliver_webhook")
    assert entry.metadata["attempts"] == 8 and entry.metadata["last_error"] == "HTTP 500"
    assert owner_client.post("/api/webhook-deliveries/999999/redeliver/").status_code == 404


def test_the_feed_pages_by_cursor_and_filters_by_type(client_for, owner, maker):
    for _ in range(3):
        _approved(maker, None)
    client = client_for(owner)
    ids = list(Event.objects.order_by("id").values_list("id", flat=True))
    first = client.get("/api/events/", {"limit": 2}).json()
    assert [e["id"] for e in first["results"]] == ids[:2] and first["has_more"] is True
    assert first["next"] == ids[1]
    rest = client.get("/api/events/", {"after": first["next"], "limit": 500}).json()
    assert [e["id"] for e in rest["results"]] == ids[2:] and rest["has_more"] is False
    assert rest["next"] == ids[-1]
    empty = client.get("/api/events/", {"after": ids[-1]}).json()
    assert empty == {"results": [], "next": ids[-1], "has_more": False}
    approved = client.get("/api/events/", {"type": "payment_request.approved"}).json()["results"]
    assert len(approved) == 3 and {e["type"] for e in approved} == {"payment_request.approved"}
    one = approved[0]
    assert set(one) == {"id", "type", "occurred_at", "data"} and one["data"]["payment_request"]["amount"]


@pytest.mark.parametrize(
    "query", [{"after": "-1"}, {"after": "x"}, {"limit": "0"}, {"limit": "501"}, {"type": "pr.paid"}, {"color": "red"}]
)
def test_the_feed_refuses_bad_parameters(owner_client, query):
    answer = owner_client.get("/api/events/", query)
    assert answer.status_code == 400, answer.json()


def test_the_feed_needs_owner_or_its_permission(client_for, finance):
    answer = client_for(finance).get("/api/events/")
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "EVENTS_FORBIDDEN"
    grant(finance, "webhooks.view_event_feed")
    from accounts.models import User

    assert client_for(User.objects.get(pk=finance.pk)).get("/api/events/").status_code == 200


def _queries(client, url, params=None) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params or {}).status_code == 200
    return len(captured.captured_queries)


def test_lists_run_a_fixed_number_of_queries(client_for, owner, maker):
    from payments.webhooks.services.recording import PendingEvent, events_write

    client = client_for(owner)
    endpoint = make_endpoint(owner=owner, types=["invoice.imported"])
    events_write([PendingEvent("invoice.imported", {"invoice": {"id": 0}})])
    _queries(client, "/api/events/")  # warms the token's last-use stamp and per-process caches
    counts = [
        (
            _queries(client, "/api/events/", {"limit": 500}),
            _queries(client, "/api/webhooks/"),
            _queries(client, f"/api/webhooks/{endpoint.pk}/deliveries/"),
        )
    ]
    for n in range(30):
        make_endpoint(owner=owner, types=["payment_request.approved"], url=f"https://e{n}.example.vn/")
    events_write([PendingEvent("invoice.imported", {"invoice": {"id": n}}) for n in range(30)])
    counts.append(
        (
            _queries(client, "/api/events/", {"limit": 500}),
            _queries(client, "/api/webhooks/"),
            _queries(client, f"/api/webhooks/{endpoint.pk}/deliveries/"),
        )
    )
    assert counts[0] == counts[1] == (2, 3, 4), counts  # events: token + page; lists: token, count, rows (+ endpoint)


def test_dispatch_once_reports_webhooks(capsys, owner):
    from django.core.management import call_command

    from payments.webhooks.services.recording import PendingEvent, events_write

    make_endpoint(owner=owner, url="http://127.0.0.1:9/closed", types=["invoice.imported"])
    events_write([PendingEvent("invoice.imported", {"invoice": {"id": 1}})])
    call_command("dispatch_notifications", "--once")
    assert "webhooks: delivered 0, retrying 1, failed 0" in capsys.readouterr().out
