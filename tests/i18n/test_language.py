"""Which language a request speaks: the user's choice, then Accept-Language, then LANGUAGE_CODE.

The suite renders English by default (ACOUNTEE_ENV=test); these tests ask for Vietnamese explicitly.
"""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from accounts.models import User
from audit.models import AuditEntry
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

SWITCH_URL = "/admin/accounts/user/language/"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def set_language(user: User, code: str) -> User:
    User.objects.filter(pk=user.pk).update(language=code)
    user.refresh_from_db()
    return user


@pytest.mark.parametrize(
    ("language", "expected", "absent"),
    [("vi", "Hóa đơn", ">Invoices<"), ("en", ">Invoices<", "Hóa đơn")],
)
def test_admin_home_renders_in_the_users_language(finance, language, expected, absent):
    response = signed_in(set_language(finance, language)).get("/admin/")
    html = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Language"] == language
    assert f'<html lang="{language}"' in html
    assert expected in html
    assert absent not in html


def test_the_users_choice_beats_the_browser(finance):
    response = signed_in(set_language(finance, "en")).get("/admin/", HTTP_ACCEPT_LANGUAGE="vi")
    assert response["Content-Language"] == "en"
    assert ">Invoices<" in response.content.decode()


def test_without_a_choice_the_browser_decides(finance):
    response = signed_in(finance).get("/admin/", HTTP_ACCEPT_LANGUAGE="vi-VN,vi;q=0.9,en;q=0.5")
    assert response["Content-Language"] == "vi"
    assert "Hóa đơn" in response.content.decode()


def test_without_choice_or_browser_language_code_decides(finance):
    with override_settings(LANGUAGE_CODE="vi"):
        response = signed_in(finance).get("/admin/")
    assert response["Content-Language"] == "vi"
    assert "Hóa đơn" in response.content.decode()


def test_the_test_environment_defaults_to_english(finance):
    assert signed_in(finance).get("/admin/")["Content-Language"] == "en"


MESSAGES = {"vi": "Không tìm thấy.", "en": "Not found."}


@pytest.mark.parametrize("language", ["vi", "en"])
def test_api_error_message_in_accept_language_first_then_the_token_users(finance, client_for, language):
    """Token clients are known only inside the view. A client that names its language (Accept-Language) reads
    that one whoever's token it uses (issue 20: a script must not depend on it); otherwise the user's own."""
    client = client_for(set_language(finance, language))
    other = "en" if language == "vi" else "vi"
    for headers, expected in (({"HTTP_ACCEPT_LANGUAGE": other}, other), ({}, language)):
        response = client.post("/api/invoices/999999999/mark-obsolete/", **headers)
        assert response.status_code == 404, response.content
        body = response.json()["error"]
        assert (body["code"], body["message"]) == ("NOT_FOUND", MESSAGES[expected])


def test_api_error_message_follows_accept_language_without_a_choice(anon_client):
    vi = anon_client.get("/api/invoices/", HTTP_ACCEPT_LANGUAGE="vi").json()["error"]
    en = anon_client.get("/api/invoices/", HTTP_ACCEPT_LANGUAGE="en").json()["error"]
    assert vi["code"] == en["code"]
    assert vi["message"] != en["message"]
    assert en["message"] == "Authentication credentials were not provided."
    assert vi["message"] == "Chưa cung cấp thông tin xác thực."


# --- the admin header's switcher ------------------------------------------------------------
def test_header_shows_the_switcher(finance):
    html = signed_in(finance).get("/admin/").content.decode()
    assert 'id="language-switcher"' in html
    assert f'action="{SWITCH_URL}"' in html
    assert '<option value="vi" lang="vi">' in html


def test_switching_saves_the_choice_and_changes_every_page(finance):
    client = signed_in(finance)
    response = client.post(SWITCH_URL, {"language": "vi", "next": "/admin/invoices/invoice/"})
    assert response.status_code == 302
    assert response["Location"] == "/admin/invoices/invoice/"
    finance.refresh_from_db()
    assert finance.language == "vi"
    assert client.get("/admin/invoices/invoice/", HTTP_ACCEPT_LANGUAGE="en")["Content-Language"] == "vi"
    # The change is audited like any other write on users.
    assert AuditEntry.objects.filter(table_name="users", record_id=str(finance.pk)).exists()

    client.post(SWITCH_URL, {"language": "", "next": "/admin/"})
    finance.refresh_from_db()
    assert finance.language == ""
    assert client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en")["Content-Language"] == "en"


@pytest.mark.parametrize("bad", ["xx", "vi-VN", "en\x00", "<script>", "v" * 500])
def test_switching_to_an_unknown_language_changes_nothing(finance, bad):
    set_language(finance, "en")
    response = signed_in(finance).post(SWITCH_URL, {"language": bad, "next": "/admin/"}, follow=True)
    finance.refresh_from_db()
    assert finance.language == "en"
    assert "Unknown language." in response.content.decode()


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", ""])
def test_switching_never_redirects_off_site(finance, target):
    response = signed_in(finance).post(SWITCH_URL, {"language": "en", "next": target})
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_switching_needs_a_post_and_a_signed_in_user(finance):
    assert signed_in(finance).get(SWITCH_URL).status_code == 405
    response = Client().post(SWITCH_URL, {"language": "vi"})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    finance.refresh_from_db()
    assert finance.language == ""


def test_switching_is_a_csrf_protected_form(finance):
    client = Client(enforce_csrf_checks=True)
    client.force_login(finance)
    assert client.post(SWITCH_URL, {"language": "vi"}).status_code == 403


def test_owner_sets_a_users_language_in_the_user_form(owner, finance):
    client = signed_in(owner)
    page = client.get(f"/admin/accounts/user/{finance.pk}/change/").content.decode()
    assert 'name="language"' in page
    response = client.post(
        f"/admin/accounts/user/{finance.pk}/change/",
        {
            "email": finance.email,
            "name": finance.name,
            "team": "",
            "is_active": "on",
            "language": "vi",
            "user_roles-TOTAL_FORMS": "0",
            "user_roles-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content
    finance.refresh_from_db()
    assert finance.language == "vi"


def test_user_factory_default_follows_the_browser():
    assert UserFactory().language == ""


def test_demo_users_see_the_deployments_language_whatever_the_browser(settings):
    """`make run` (LANGUAGE_CODE=vi) shows the demo in Vietnamese even to an English browser."""
    from accounts.demo import seed_accounts

    settings.LANGUAGE_CODE = "vi"
    seed_accounts(lambda _message: None)
    accountant = User.objects.get(email="ketoan@acountee.local")
    assert accountant.language == "vi"
    assert User.objects.get(email="quantri@acountee.local").language == "en"
    response = signed_in(accountant).get("/admin/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response["Content-Language"] == "vi"
    assert "Hóa đơn" in response.content.decode()


def test_owner_sets_a_users_language_through_the_api(owner_client, finance, client_for):
    response = owner_client.patch(f"/api/users/{finance.pk}/", {"language": "vi"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["language"] == "vi"
    me = client_for(finance).get("/api/me/")
    assert me.json()["language"] == "vi"
    assert me["Content-Language"] == "vi"  # no Accept-Language: the user's setting
    assert client_for(finance).get("/api/me/", HTTP_ACCEPT_LANGUAGE="en")["Content-Language"] == "en"


@pytest.mark.parametrize("bad", ["xx", "VI", "vi-VN", " ", "en\x00", None, 1, ["vi"]])
def test_api_refuses_unknown_languages(owner_client, finance, bad):
    response = owner_client.patch(f"/api/users/{finance.pk}/", {"language": bad}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert "language" in response.json()["error"]["details"]
    finance.refresh_from_db()
    assert finance.language == ""


def test_api_creates_a_user_with_a_language(owner_client):
    response = owner_client.post(
        "/api/users/", {"email": "moi@acountee.test", "name": "Người mới", "language": "en"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert User.objects.get(email="moi@acountee.test").language == "en"


@pytest.mark.parametrize(
    ("language", "message"),
    [("vi", '"xx" không phải là lựa chọn hợp lệ.'), ("en", '"xx" is not a valid choice.')],
)
def test_drf_validation_messages_are_translated_too(owner, owner_client, finance, language, message):
    """DRF ships a partial Vietnamese catalogue; acountee/locale_thirdparty completes it."""
    set_language(owner, language)
    response = owner_client.patch(f"/api/users/{finance.pk}/", {"language": "xx"}, format="json")
    assert response.json()["error"]["details"]["language"] == [message]
