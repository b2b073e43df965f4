"""Passwords in the admin: an owner sets a user's password from the user's page (the read-only password field
links to `<id>/password/`), and every signed-in user changes their own at /admin/password_change/. Both go through
accounts.services.user_update, which records a `password_set` security event and a `set_password` audit entry."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from audit.models import AuditEntry, SecurityEvent
from tests.accounts.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW = "Mùa-thu-Hà-Nội-2026"


@pytest.fixture
def admin_client_for():
    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


def url(user_id) -> str:
    return f"/admin/accounts/user/{user_id}/password/"


def signs_in(email: str, password: str) -> bool:
    response = Client().post("/admin/login/", {"username": email, "password": password})
    return response.status_code == 302


def test_the_change_page_links_to_the_password_page(admin_client_for, owner, finance):
    page = admin_client_for(owner).get(f"/admin/accounts/user/{finance.pk}/change/").content.decode()
    assert 'href="../password/"' in page
    assert admin_client_for(owner).get(url(finance.pk)).status_code == 200


def test_owner_sets_a_password_and_the_user_signs_in_with_it(admin_client_for, owner, finance):
    events = SecurityEvent.objects.filter(kind="password_set")
    entries = AuditEntry.objects.filter(action="set_password")
    assert not events.exists() and not entries.exists()
    response = admin_client_for(owner).post(url(finance.pk), {"new_password1": NEW, "new_password2": NEW}, follow=True)
    assert response.redirect_chain[-1][0] == f"/admin/accounts/user/{finance.pk}/change/"
    assert [(m.level_tag, str(m)) for m in response.context["messages"]] == [
        ("success", f"Password set for {finance.email}.")
    ]
    assert signs_in(finance.email, NEW)
    assert not signs_in(finance.email, PASSWORD)
    [event] = events
    assert (event.user_id, event.details["target_user"]) == (owner.pk, finance.pk)
    [entry] = entries
    assert (entry.table_name, entry.record_id) == ("users", str(finance.pk))
    assert NEW not in str(entry.metadata) and NEW not in str(event.details)


def test_an_owner_setting_their_own_password_stays_signed_in(admin_client_for, owner):
    client = admin_client_for(owner)
    client.post(url(owner.pk), {"new_password1": NEW, "new_password2": NEW})
    assert client.get("/admin/accounts/user/").status_code == 200


def test_a_weak_password_is_refused_with_the_validators_message(admin_client_for, owner, finance):
    before = User.objects.get(pk=finance.pk).password
    response = admin_client_for(owner).post(url(finance.pk), {"new_password1": "12345678", "new_password2": "12345678"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "This password is too common." in page and "This password is entirely numeric." in page
    assert User.objects.get(pk=finance.pk).password == before


def test_the_password_may_not_resemble_the_users_email(admin_client_for, owner):
    user = UserFactory(email="nguyenvanbinh@acountee.test")
    response = admin_client_for(owner).post(
        url(user.pk), {"new_password1": "nguyenvanbinh", "new_password2": "nguyenvanbinh"}
    )
    assert "too similar" in response.content.decode()
    assert signs_in(user.email, PASSWORD)


def test_the_two_passwords_must_match(admin_client_for, owner, finance):
    response = admin_client_for(owner).post(url(finance.pk), {"new_password1": NEW, "new_password2": NEW + "x"})
    assert "The two password fields didn" in response.content.decode()
    assert signs_in(finance.email, PASSWORD)


@pytest.mark.parametrize("persona", ["finance", "approver"])
def test_non_owners_get_403(persona, request, admin_client_for, owner):
    client = admin_client_for(request.getfixturevalue(persona))
    assert client.get(url(owner.pk)).status_code == 403
    assert client.post(url(owner.pk), {"new_password1": NEW, "new_password2": NEW}).status_code == 403
    assert not signs_in(owner.email, NEW)


@pytest.mark.parametrize("bad_id", ["0", "999999999", "9" * 40, "-1", "abc", "1.5", "%2e%2e", "1%00", "²"])
def test_hostile_ids_are_404(bad_id, admin_client_for, owner):
    assert admin_client_for(owner).get(url(bad_id)).status_code == 404
    assert admin_client_for(owner).post(url(bad_id), {"new_password1": NEW, "new_password2": NEW}).status_code == 404


def test_anonymous_is_sent_to_sign_in(finance):
    response = Client().get(url(finance.pk))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_csrf_is_needed(owner, finance):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(url(finance.pk), {"new_password1": NEW, "new_password2": NEW}).status_code == 403
    assert signs_in(finance.email, PASSWORD)


# --- the signed-in user's own password (Django's admin page, saved through the service) ------------------------
def test_a_user_changes_their_own_password(admin_client_for, finance):
    client = admin_client_for(finance)
    assert client.get("/admin/password_change/").status_code == 200
    response = client.post(
        "/admin/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": NEW,
            "new_password2": NEW,
        },
    )
    assert response.status_code == 302 and response["Location"] == "/admin/password_change/done/"
    assert client.get("/admin/").status_code == 200  # still signed in
    assert signs_in(finance.email, NEW) and not signs_in(finance.email, PASSWORD)
    event = SecurityEvent.objects.filter(kind="password_set").order_by("-id").first()
    assert (event.user_id, event.details["target_user"]) == (finance.pk, finance.pk)


def test_a_wrong_old_password_or_a_weak_new_one_changes_nothing(admin_client_for, finance):
    client = admin_client_for(finance)
    for data in (
        {"old_password": "wrong", "new_password1": NEW, "new_password2": NEW},
        {"old_password": PASSWORD, "new_password1": "12345678", "new_password2": "12345678"},
    ):
        assert client.post("/admin/password_change/", data).status_code == 200
    assert signs_in(finance.email, PASSWORD)
    assert not SecurityEvent.objects.filter(kind="password_set").exists()


def test_own_password_change_needs_csrf_and_a_session(finance):
    client = Client(enforce_csrf_checks=True)
    client.force_login(finance)
    data = {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW}
    assert client.post("/admin/password_change/", data).status_code == 403
    assert Client().post("/admin/password_change/", data).status_code == 302  # to the sign-in page
    assert signs_in(finance.email, PASSWORD)


def test_a_password_set_by_an_owner_ends_the_users_admin_sessions(admin_client_for, owner, finance):
    session = admin_client_for(finance)
    assert session.get("/admin/").status_code == 200
    admin_client_for(owner).post(url(finance.pk), {"new_password1": NEW, "new_password2": NEW})
    assert session.get("/admin/").status_code == 302  # back to the sign-in page
