"""Service accounts (issue 20): API-only principals made by owners, with scoped tokens, an optional expiry,
last-used time and revocation; they never sign in to the back office, never lock a person out, and never
approve — whatever roles or scopes they were given."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import ApiToken, User
from accounts.services import service_account_create
from acountee.errors import NotOwner, ValidationFailed

pytestmark = pytest.mark.django_db
URL = "/api/service-accounts/"


def token_client(key: str):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_an_owner_makes_one_and_sees_its_token_once(owner_client):
    response = owner_client.post(URL, {"name": "Bank sync", "scopes": ["read", "export"], "roles": ["finance"]})
    assert response.status_code == 201, response.content
    body = response.json()
    key = body["token"]
    assert body["tokens"][0]["scopes"] == ["read", "export"] and body["tokens"][0]["prefix"] == key[:8]
    account = User.objects.get(pk=body["id"])
    assert account.is_service_account and not account.has_usable_password() and not account.is_staff
    listed = owner_client.get(URL).json()
    assert [row["name"] for row in listed["results"]] == ["Bank sync"] and "token" not in listed["results"][0]
    assert token_client(key).get("/api/invoices/").status_code == 200
    assert owner_client.get(URL).json()["results"][0]["tokens"][0]["last_used_at"] is not None


def test_only_owners_and_only_real_scopes(finance, client_for, owner_client, owner):
    assert client_for(finance).post(URL, {"name": "x", "scopes": ["read"]}).status_code == 403
    with pytest.raises(NotOwner):
        service_account_create(name="x", scopes=["read"], actor=finance)
    for bad in ({"name": "x", "scopes": []}, {"name": "x", "scopes": ["approve"]}, {"name": "", "scopes": ["read"]}):
        assert owner_client.post(URL, bad).status_code == 400
    with pytest.raises(ValidationFailed):
        service_account_create(name="x", scopes=["read"], actor=owner, roles=["owner"])
    assert not User.objects.filter(is_service_account=True).exists()


def test_scopes_narrow_what_the_token_may_call(owner):
    _account, key = service_account_create(name="Importer", scopes=["import"], actor=owner, roles=["finance"])
    client = token_client(key)
    refused = client.get("/api/invoices/")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "TOKEN_SCOPE")
    assert client.post("/api/payment-requests/", {"name": "x"}).status_code == 403
    _reader, read_key = service_account_create(name="Reader", scopes=["read"], actor=owner, roles=["finance"])
    reader = token_client(read_key)
    assert reader.get("/api/invoices/").status_code == 200
    assert reader.post("/api/payment-requests/", {"name": "x"}).json()["error"]["code"] == "TOKEN_SCOPE"


def test_expired_and_retired_tokens_stop_working(owner, owner_client):
    account, key = service_account_create(
        name="Short", scopes=["read"], actor=owner, roles=["finance"], expires_at=timezone.now() + timedelta(hours=1)
    )
    client = token_client(key)
    assert client.get("/api/invoices/").status_code == 200
    ApiToken.objects.filter(user=account).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get("/api/invoices/").status_code == 401
    _other, other_key = service_account_create(name="Retired", scopes=["read"], actor=owner, roles=["finance"])
    retired = User.objects.get(name="Retired")
    assert owner_client.delete(f"{URL}{retired.pk}/").status_code == 204
    assert token_client(other_key).get("/api/invoices/").status_code == 401
    assert not User.objects.get(pk=retired.pk).is_active


def test_no_back_office_and_no_lock_out_of_a_person(owner, password):
    account, _key = service_account_create(name="Bot", scopes=["read"], actor=owner, roles=["finance"])
    browser = Client()
    assert not browser.login(email=account.email, password=password)
    browser.force_login(account)
    assert browser.get("/admin/").status_code == 302  # the admin lets only staff in: a service account is not
