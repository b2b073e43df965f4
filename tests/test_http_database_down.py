"""A database that is down answers 503 in the error shape; /healthz stays up, /readyz fails."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client


@pytest.fixture
def database_down(django_db_blocker):
    """Point the default connection at a closed port for real (no mock): every connection
    attempt fails the way it does when the server is gone."""
    with django_db_blocker.unblock():
        connection.close()
        connection.close_pool()
        saved = dict(connection.settings_dict)
        connection.settings_dict["HOST"] = "127.0.0.1"
        connection.settings_dict["PORT"] = 1
        connection.settings_dict["OPTIONS"] = {
            **saved["OPTIONS"],
            "connect_timeout": 1,
            "pool": {**saved["OPTIONS"]["pool"], "timeout": 2},
        }
        try:
            yield
        finally:
            connection.close()
            connection.close_pool()
            connection.settings_dict.clear()
            connection.settings_dict.update(saved)


def test_api_answers_503_when_the_database_is_down(database_down):
    response = Client().get("/api/me/", HTTP_AUTHORIZATION="Token abc")
    assert response.status_code == 503
    body = response.json()
    assert body["error"]["code"] == "DATABASE_UNAVAILABLE"
    assert "Traceback" not in response.content.decode()


def test_admin_answers_503_when_the_database_is_down(database_down):
    # The session and auth middleware hit the database before any view: Django signals that
    # exception (the test client would re-raise it) and our middleware answers 503 instead.
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "a" * 32
    response = client.get("/admin/", HTTP_ACCEPT="text/html")
    assert response.status_code == 503
    assert response["Retry-After"]
    assert b"DATABASE_UNAVAILABLE" in response.content
    assert b"Traceback" not in response.content


def test_readyz_fails_and_healthz_holds_when_the_database_is_down(database_down):
    assert Client().get("/readyz").status_code == 503
    assert Client().get("/healthz").status_code == 200


@pytest.mark.django_db
def test_readyz_ok_when_the_database_answers():
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
