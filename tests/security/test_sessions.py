"""Back-office sessions expire: SESSION_COOKIE_AGE (8 h by default) from sign-in, optionally
at browser close; an expired session is signed out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db


def sign_in(user, password) -> tuple[Client, object]:
    client = Client()
    page = client.get("/admin/login/")
    response = client.post(
        "/admin/login/?next=/admin/",
        {
            "username": user.email,
            "password": password,
            "csrfmiddlewaretoken": page.cookies["csrftoken"].value,
        },
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
    return client, response.cookies["sessionid"]


def test_the_session_cookie_lives_one_working_day(owner, password, settings):
    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    client, cookie = sign_in(owner, password)
    assert cookie["max-age"] == 8 * 3600
    session = Session.objects.get(pk=cookie.value)
    remaining = session.expire_date - timezone.now()
    assert timedelta(hours=7, minutes=59) < remaining <= timedelta(hours=8)
    assert client.get("/admin/").status_code == 200


def test_an_expired_session_is_signed_out(owner, password):
    client, cookie = sign_in(owner, password)
    Session.objects.filter(pk=cookie.value).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_the_session_can_end_with_the_browser(owner, password, settings):
    settings.SESSION_EXPIRE_AT_BROWSER_CLOSE = True
    _client, cookie = sign_in(owner, password)
    assert cookie["max-age"] == "" and cookie["expires"] == ""  # a browser-session cookie
