"""Issue 20, "consistent edges": whatever the mode (development or production), a path the API does not have
answers the contract's JSON error shape — never Django's HTML page, never a redirect (which HTTP clients follow
as a GET, silently dropping a write) and never a 500 — and the framework's `?format=` override is gone."""

from __future__ import annotations

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db

NOT_THERE = [
    ("post", "/api/payment-requests"),  # the trailing slash missing: a 500 in development, a 301 in production
    ("get", "/api/invoices"),
    ("patch", "/api/payment-requests/1"),
    ("get", "/api/invoices/abc/"),
    ("get", "/api/payment-requests/1x/approve/"),
    ("delete", "/api/no-such-thing/"),
]


@pytest.mark.parametrize("debug", [True, False], ids=["development", "production"])
@pytest.mark.parametrize(("method", "path"), NOT_THERE)
def test_a_path_the_api_does_not_have_is_a_json_404(owner_client, settings, debug, method, path):
    with override_settings(DEBUG=debug):
        response = getattr(owner_client, method)(path, {}, format="json")
    assert response.status_code == 404, response.content[:200]
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_the_missing_slash_is_named_in_the_message(owner_client):
    message = owner_client.post("/api/payment-requests", {}, format="json").json()["error"]["message"]
    assert "/api/payment-requests/" in message


@pytest.mark.parametrize("value", ["api", "json", "csv"])
def test_format_does_not_choose_the_renderer(owner_client, value):
    response = owner_client.get("/api/invoices/", {"format": value})
    assert response["Content-Type"].startswith("application/json") and b"<html" not in response.content.lower()
