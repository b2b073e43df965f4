"""Security events: sign-in success/failure (with the e-mail tried), sign-out, tokens, role
changes, refused owner operations (API and admin); readable by owners only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts import services as account_services
from accounts.models import Role
from acountee.errors import ValidationFailed
from audit.models import AuditEntry, SecurityEvent
from audit.services import security_event_record
from tests.accounts.factories import PASSWORD

pytestmark = pytest.mark.django_db


def kinds_since(mark: int) -> list[str]:
    return list(SecurityEvent.objects.filter(id__gt=mark).order_by("id").values_list("kind", flat=True))


def mark() -> int:
    return SecurityEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_admin_sign_in_failure_success_and_sign_out(client, finance):
    m = mark()
    client.post(
        reverse("admin:login"),
        {"username": finance.email, "password": "wrong"},
        REMOTE_ADDR="198.51.100.9",
        HTTP_USER_AGENT="browser/1",
    )
    client.post(reverse("admin:login"), {"username": finance.email, "password": PASSWORD})
    client.post(reverse("admin:logout"))
    events = list(SecurityEvent.objects.filter(id__gt=m).order_by("id"))
    assert [e.kind for e in events] == ["sign_in_failed", "sign_in_succeeded", "sign_out"]
    failed = events[0]
    assert failed.email == finance.email and failed.user_id is None
    assert failed.ip == "198.51.100.9" and failed.user_agent == "browser/1"
    assert events[1].user_id == finance.pk and events[1].details["via"] == "admin"


def test_api_token_sign_in_failure_is_recorded_once_with_the_email(anon_client, finance):
    m = mark()
    response = anon_client.post(reverse("auth-token"), {"email": "nobody@x.test", "password": "nope"}, format="json")
    assert response.status_code == 401
    [event] = SecurityEvent.objects.filter(id__gt=m)
    assert (event.kind, event.email, event.details["via"]) == ("sign_in_failed", "nobody@x.test", "api")


def test_token_created_and_revoked(anon_client, finance):
    m = mark()
    response = anon_client.post(reverse("auth-token"), {"email": finance.email, "password": PASSWORD}, format="json")
    key = response.json()["token"]
    anon_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert anon_client.delete(reverse("auth-token")).status_code == 204
    assert kinds_since(m) == ["token_created", "token_revoked"]
    assert set(SecurityEvent.objects.filter(id__gt=m).values_list("user_id", flat=True)) == {finance.pk}


def test_role_changes_are_security_events_and_semantic_audit_entries(owner, finance):
    m = mark()
    audit_mark = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    bod = Role.objects.get(name="bod")
    account_services.role_assign(user=finance, role=bod, actor=owner)
    account_services.role_revoke(user=finance, role=bod, actor=owner)
    account_services.role_create(name="auditor", permissions=["audit.view_auditentry"], actor=owner)
    assert kinds_since(m) == ["role_assigned", "role_revoked", "role_created"]
    semantic = AuditEntry.objects.filter(id__gt=audit_mark, action__in=["assign_role", "revoke_role"]).order_by("id")
    assert [(e.action, e.table_name, e.record_id, e.actor) for e in semantic] == [
        ("assign_role", "users", str(finance.pk), owner.email),
        ("revoke_role", "users", str(finance.pk), owner.email),
    ]


def test_owner_only_api_refusal_is_recorded(client_for, finance):
    m = mark()
    response = client_for(finance).get(reverse("user-list"))
    assert response.status_code == 403 and response.json()["error"]["code"] == "NOT_OWNER"
    [event] = SecurityEvent.objects.filter(id__gt=m, kind="access_denied")
    assert event.user_id == finance.pk and event.details["path"] == reverse("user-list")


def test_owner_only_admin_page_refusal_is_recorded(client, finance):
    client.force_login(finance)
    m = mark()
    response = client.get(reverse("admin:accounts_user_changelist"))
    assert response.status_code == 403
    [event] = SecurityEvent.objects.filter(id__gt=m, kind="access_denied")
    assert event.user_id == finance.pk and event.details["method"] == "GET"


def test_unknown_kind_is_refused_and_lockout_is_known():
    with pytest.raises(ValidationFailed):
        security_event_record(kind="made_up")
    event = security_event_record(kind="lockout", details={"email": "Locked@X.test", "attempts": 5})
    assert (event.kind, event.email, event.details) == ("lockout", "Locked@X.test", {"attempts": 5})


def test_security_events_api_is_owner_only(owner_client, client_for, finance):
    security_event_record(kind="lockout", details={"email": "a@b.test"})
    url = reverse("security-event-list")
    response = owner_client.get(url, {"kind": "lockout"})
    assert response.status_code == 200
    assert response.json()["results"][0]["email"] == "a@b.test"
    assert client_for(finance).get(url).status_code == 403
    assert owner_client.get(url, {"kind": "nonsense"}).status_code == 400
    assert owner_client.get(url, {"bogus": "1"}).status_code == 400


def test_security_events_admin_is_read_only_for_owners(client, owner, finance):
    event = security_event_record(kind="lockout", details={"email": "a@b.test"})
    client.force_login(owner)
    assert client.get(reverse("admin:audit_securityevent_changelist")).status_code == 200
    assert client.get(reverse("admin:audit_securityevent_change", args=[event.pk])).status_code == 200
    assert client.post(reverse("admin:audit_securityevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    client.force_login(finance)
    assert client.get(reverse("admin:audit_securityevent_changelist")).status_code == 403
