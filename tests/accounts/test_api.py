"""Auth and owner-only account endpoints, including hostile input (API.md)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiToken, Role, Team, User, UserRole
from audit.models import AuditEntry, SecurityEvent
from tests.accounts.factories import PASSWORD, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


# --- tokens ------------------------------------------------------------------------------
def test_token_round_trip(anon_client, finance):
    response = anon_client.post("/api/auth/token/", {"email": finance.email, "password": PASSWORD}, format="json")
    assert response.status_code == 200
    key = response.json()["token"]
    assert not ApiToken.objects.filter(key_hash=key).exists()  # stored hashed only

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    me = client.get("/api/me/")
    assert me.status_code == 200
    assert me.json()["email"] == finance.email
    assert me.json()["is_owner"] is False and isinstance(me.json()["permissions"], list)

    assert client.delete("/api/auth/token/").status_code == 204
    assert_error(client.get("/api/me/"), 401, "AUTHENTICATION_FAILED")


def test_email_is_case_insensitive_for_sign_in(anon_client, finance):
    response = anon_client.post(
        "/api/auth/token/", {"email": finance.email.upper(), "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "payload",
    [
        {"email": "finance@acountee.test", "password": "wrong"},
        {"email": "nobody@acountee.test", "password": PASSWORD},
    ],
)
def test_wrong_credentials_get_401(anon_client, finance, payload):
    assert_error(anon_client.post("/api/auth/token/", payload, format="json"), 401, "INVALID_CREDENTIALS")
    assert not ApiToken.objects.exists()


def test_inactive_users_cannot_get_a_token(anon_client, finance):
    User.objects.filter(pk=finance.pk).update(is_active=False)
    payload = {"email": finance.email, "password": PASSWORD}
    assert_error(anon_client.post("/api/auth/token/", payload, format="json"), 401, "INVALID_CREDENTIALS")


def test_a_deactivated_users_token_stops_working(client_for, finance):
    client = client_for(finance)
    User.objects.filter(pk=finance.pk).update(is_active=False)
    assert_error(client.get("/api/me/"), 401, "AUTHENTICATION_FAILED")


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ('{"email": "a@b.c"', "application/json", 400, "MALFORMED_REQUEST"),
        ('{"email": 5, "password": []}', "application/json", 400, "VALIDATION_ERROR"),
        ('{"email": "a@b.c", "password": "x", "admin": true}', "application/json", 400, "VALIDATION_ERROR"),
        ('{"email": "a\\u0000@b.c", "password": "x"}', "application/json", 400, "VALIDATION_ERROR"),
        ("email=a@b.c", "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
    ],
    ids=["malformed-json", "wrong-types", "unknown-field", "nul-byte", "wrong-content-type"],
)
def test_hostile_token_requests(anon_client, body, content_type, status, code):
    response = anon_client.generic("POST", "/api/auth/token/", body, content_type=content_type)
    assert_error(response, status, code)
    assert not ApiToken.objects.exists()


def test_unauthenticated_requests_get_401(anon_client):
    assert_error(anon_client.get("/api/me/"), 401, "NOT_AUTHENTICATED")
    assert_error(anon_client.get("/api/users/"), 401, "NOT_AUTHENTICATED")


def test_garbage_token_headers_get_401(anon_client):
    for header in ["Token", "Token a b", "Token \u00ff\u00fe", "Token " + "x" * 5000]:
        anon_client.credentials(HTTP_AUTHORIZATION=header)
        assert anon_client.get("/api/me/").status_code == 401


# --- owner-only administration ---------------------------------------------------------------
@pytest.mark.parametrize("path", ["/api/users/", "/api/teams/", "/api/roles/"])
def test_non_owners_are_refused_with_not_owner(client_for, finance, path):
    client = client_for(finance)
    assert_error(client.get(path), 403, "NOT_OWNER")
    assert_error(client.post(path, {"name": "x", "email": "x@y.z"}, format="json"), 403, "NOT_OWNER")


def test_non_owner_cannot_assign_roles(client_for, finance):
    response = client_for(finance).post(
        f"/api/users/{finance.pk}/roles/", {"role": Role.objects.get(name="owner").pk}, format="json"
    )
    assert_error(response, 403, "NOT_OWNER")
    assert not finance.user_roles.filter(role__name="owner").exists()


def test_owner_creates_a_user_and_assigns_a_role(owner_client, owner):
    team = TeamFactory()
    response = owner_client.post(
        "/api/users/",
        {"email": "new@acountee.test", "name": "Nguyễn Văn A", "team": team.pk, "password": "Str0ng-Passw0rd!"},
        format="json",
    )
    assert response.status_code == 201, response.content
    user_id = response.json()["id"]
    assert "password" not in response.json()

    bod = Role.objects.get(name="bod")
    response = owner_client.post(f"/api/users/{user_id}/roles/", {"role": bod.pk}, format="json")
    assert response.status_code == 201
    assert response.json()["role_name"] == "bod"
    assignment = UserRole.objects.get(user_id=user_id, role=bod)
    assert assignment.assigned_by == owner

    response = owner_client.delete(f"/api/users/{user_id}/roles/{bod.pk}/")
    assert response.status_code == 204
    assert not UserRole.objects.filter(user_id=user_id).exists()


def test_duplicate_email_gets_409(owner_client, finance):
    response = owner_client.post("/api/users/", {"email": finance.email.upper()}, format="json")
    assert_error(response, 409, "DUPLICATE_EMAIL")
    assert User.objects.filter(email__iexact=finance.email).count() == 1


@pytest.mark.parametrize(
    "payload",
    [
        {"email": "not-an-email"},
        {"email": "ok@acountee.test", "is_active": "maybe"},
        {"email": "ok@acountee.test", "team": "abc"},
        {"email": "ok@acountee.test", "team": 99999999},
        {"email": "ok@acountee.test", "password": "123"},
        {"email": "ok@acountee.test", "is_superuser": True},
        {"email": "ok@acountee.test", "name": "x" * 500},
        {"email": ["ok@acountee.test"]},
    ],
    ids=[
        "bad-email",
        "bad-bool",
        "bad-team-type",
        "missing-team",
        "weak-password",
        "unknown-field",
        "too-long",
        "list-for-string",
    ],
)
def test_bad_user_input_is_refused_and_changes_nothing(owner_client, payload):
    before = User.objects.count()
    assert_error(owner_client.post("/api/users/", payload, format="json"), 400, "VALIDATION_ERROR")
    assert User.objects.count() == before


def test_deleting_the_last_owner_is_refused(owner_client, owner):
    assert_error(owner_client.delete(f"/api/users/{owner.pk}/"), 409, "LAST_OWNER")
    owner.refresh_from_db()
    assert owner.is_active


def test_revoking_the_last_owner_role_is_refused(owner_client, owner):
    owner_role = Role.objects.get(name="owner")
    assert_error(owner_client.delete(f"/api/users/{owner.pk}/roles/{owner_role.pk}/"), 409, "LAST_OWNER")
    assert UserRole.objects.filter(user=owner, role=owner_role).exists()


def test_delete_deactivates_rather_than_erases(owner_client, finance):
    assert owner_client.delete(f"/api/users/{finance.pk}/").status_code == 204
    finance.refresh_from_db()
    assert not finance.is_active


@pytest.mark.parametrize("path", ["/api/users/abc/", "/api/users/99999999999999999999999/", "/api/users/0/"])
def test_odd_ids_are_404(owner_client, path):
    assert_error(owner_client.get(path), 404, "NOT_FOUND")


def test_editing_the_owner_role_is_refused(owner_client):
    role = Role.objects.get(name="owner")
    assert_error(
        owner_client.patch(f"/api/roles/{role.pk}/", {"description": "x"}, format="json"), 409, "OWNER_ROLE_PROTECTED"
    )
    assert_error(owner_client.delete(f"/api/roles/{role.pk}/"), 409, "BUILTIN_ROLE_PROTECTED")


def test_roles_crud_with_permissions_and_parent(owner_client):
    finance_role = Role.objects.get(name="finance")
    response = owner_client.post(
        "/api/roles/",
        {"name": "senior-finance", "parent": finance_role.pk, "permissions": ["accounts.view_team"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["permissions"] == ["accounts.view_team"]
    response = owner_client.patch(f"/api/roles/{body['id']}/", {"permissions": ["nope.nope"]}, format="json")
    assert_error(response, 400, "VALIDATION_ERROR")
    assert owner_client.delete(f"/api/roles/{body['id']}/").status_code == 204


def test_team_with_members_cannot_be_deleted_via_api(owner_client):
    team = TeamFactory()
    UserFactory(team=team)
    assert_error(owner_client.delete(f"/api/teams/{team.pk}/"), 409, "TEAM_HAS_MEMBERS")
    assert Team.objects.filter(pk=team.pk).exists()


def test_team_capabilities_are_validated(owner_client):
    response = owner_client.post("/api/teams/", {"name": "Kế toán", "capabilities": ["root"]}, format="json")
    assert_error(response, 400, "VALIDATION_ERROR")
    response = owner_client.post("/api/teams/", {"name": "Kế toán", "capabilities": ["workbench"]}, format="json")
    assert response.status_code == 201
    assert response.json()["capabilities"] == ["workbench"]


def test_put_is_not_offered(owner_client, finance):
    assert_error(
        owner_client.put(f"/api/users/{finance.pk}/", {"email": "x@y.z"}, format="json"), 405, "METHOD_NOT_ALLOWED"
    )


def test_user_list_query_count_does_not_grow_with_rows(owner_client):
    def count_queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert owner_client.get("/api/users/?page_size=500").status_code == 200
        return len(ctx)

    UserFactory.create_batch(2, roles=["finance"])
    count_queries()  # the first request also stamps the token's last use
    few = count_queries()
    assert few == 4  # token (with the permissions), count, users, their roles
    UserFactory.create_batch(30, roles=["bod"])
    assert count_queries() == few


def test_page_size_is_capped(owner_client):
    response = owner_client.get("/api/users/?page_size=100000")
    assert response.status_code == 200
    assert response.json()["count"] >= 1


def test_role_expiry_at_the_edge_of_the_calendar_is_a_400(owner_client, finance):
    """DRF's DateTimeField overflowed (500) converting `0001-01-01` in UTC+7 to UTC."""
    response = owner_client.post(
        f"/api/users/{finance.pk}/roles/",
        {"role": Role.objects.get(name="bod").pk, "expires_at": "0001-01-01T00:00:00"},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "expires_at" in response.json()["error"]["details"]
    assert not UserRole.objects.filter(user=finance, role__name="bod").exists()


def test_a_password_set_through_the_api_is_recorded_without_the_password(owner_client, owner, finance):
    new = "Str0ng-Passw0rd!"
    response = owner_client.patch(f"/api/users/{finance.pk}/", {"password": new}, format="json")
    assert response.status_code == 200, response.content
    [event] = SecurityEvent.objects.filter(kind="password_set")
    assert (event.user_id, event.details) == (owner.pk, {"target_user": finance.pk})
    [entry] = AuditEntry.objects.filter(action="set_password", table_name="users", record_id=str(finance.pk))
    assert new not in str(entry.metadata)
    owner_client.patch(f"/api/users/{finance.pk}/", {"name": "Kế toán trưởng"}, format="json")
    assert SecurityEvent.objects.filter(kind="password_set").count() == 1  # no password, no event
