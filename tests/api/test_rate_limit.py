"""API rate limits (issue 20; docs/api-guard.md, "Rate limits"): a fixed window per token, per session user, per
anonymous IP, counted in PostgreSQL; 429 RATE_LIMITED with Retry-After; RateLimit-* headers on every answer."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.requestguard.models import ApiRateCounter
from accounts.requestguard.ratelimit import api_rate_counters_purge
from tests.payments.factories import PaymentMethodFactory

pytestmark = pytest.mark.django_db

URL = "/api/payment-methods/"
LIMITS = dict(
    API_RATE_LIMIT_TOKEN=3, API_RATE_LIMIT_USER=2, API_RATE_LIMIT_ANONYMOUS=2, API_RATE_LIMIT_WINDOW_SECONDS=60
)


@override_settings(**LIMITS)
def test_a_token_gets_its_quota_then_429_with_retry_after(finance, client_for):
    client = client_for(finance)
    remaining = []
    for _ in range(3):
        response = client.get(URL)
        assert response.status_code == 200
        assert response["RateLimit-Limit"] == "3"
        assert response["RateLimit-Policy"] == "3;w=60"
        assert 1 <= int(response["RateLimit-Reset"]) <= 60
        remaining.append(int(response["RateLimit-Remaining"]))
    assert remaining == [2, 1, 0]
    refused = client.get(URL)
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "RATE_LIMITED"
    assert error["details"]["retry_after"] == int(refused["Retry-After"]) == int(refused["RateLimit-Reset"])
    assert refused["RateLimit-Remaining"] == "0"


@override_settings(**LIMITS)
def test_each_token_has_its_own_budget(finance, client_for):
    first, second = client_for(finance), client_for(finance)  # two tokens of one person
    for _ in range(3):
        assert first.get(URL).status_code == 200
    assert first.get(URL).status_code == 429
    assert second.get(URL).status_code == 200


@override_settings(**LIMITS)
def test_session_callers_count_per_user_and_the_message_follows_their_language(finance):
    client = APIClient()
    client.force_login(finance)
    assert [client.get(URL).status_code for _ in range(2)] == [200, 200]
    refused = client.get(URL, HTTP_ACCEPT_LANGUAGE="vi")
    assert refused.status_code == 429
    assert "Quá nhiều yêu cầu" in refused.json()["error"]["message"]


@override_settings(**LIMITS)
def test_anonymous_callers_count_per_ip_and_their_401s_count(anon_client):
    assert anon_client.get(URL).status_code == 401
    response = anon_client.get(URL)
    assert response.status_code == 401 and response["RateLimit-Remaining"] == "0"
    assert anon_client.get(URL).status_code == 429
    other_ip = APIClient(REMOTE_ADDR="192.0.2.7")
    assert other_ip.get(URL).status_code == 401


@override_settings(**LIMITS)
def test_errors_carry_the_headers_too(finance, client_for):
    response = client_for(finance).get(URL, {"page_size": "0"})
    assert response.status_code == 400 and response["RateLimit-Limit"] == "3"


@override_settings(API_RATE_LIMIT_TOKEN=0, API_RATE_LIMIT_USER=0, API_RATE_LIMIT_ANONYMOUS=0)
def test_a_zero_limit_is_no_limit_and_costs_no_query(finance, client_for):
    client = client_for(finance)
    client.get(URL)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(URL)
    assert response.status_code == 200 and "RateLimit-Limit" not in response
    assert not [q for q in ctx.captured_queries if "api_rate_counters" in q["sql"]]
    assert not ApiRateCounter.objects.exists()


@override_settings(**LIMITS)
def test_the_limit_costs_one_statement_per_request(finance, client_for):
    client = client_for(finance)
    client.get(URL)
    with CaptureQueriesContext(connection) as ctx:
        client.get(URL)
    counted = [q for q in ctx.captured_queries if "api_rate_counters" in q["sql"]]
    assert len(counted) == 1 and counted[0]["sql"].lstrip().startswith("INSERT")


@override_settings(**LIMITS)
def test_a_new_window_starts_afresh_and_spent_counters_are_purged(finance, client_for):
    client = client_for(finance)
    for _ in range(4):
        client.get(URL)
    assert client.get(URL).status_code == 429
    row = ApiRateCounter.objects.get()
    ApiRateCounter.objects.filter(pk=row.pk).update(window_start=row.window_start - timedelta(minutes=5))
    assert client.get(URL).status_code == 200  # the window moved on: counting starts again
    assert ApiRateCounter.objects.get().hits == 1
    ApiRateCounter.objects.update(window_start=row.window_start - timedelta(minutes=5))
    assert api_rate_counters_purge() == 1


def test_the_document_states_the_headers_and_the_429(owner_client):
    document = owner_client.get("/api/schema/?format=json").json()
    assert set(document["components"]["headers"]) >= {
        "RateLimit-Limit",
        "RateLimit-Remaining",
        "RateLimit-Reset",
        "RateLimit-Policy",
    }
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "RATE_LIMITED" in responses["429"]["description"], (method, path)
            assert "Retry-After" in responses["429"]["headers"], (method, path)
            for code, response in responses.items():
                assert response["headers"]["RateLimit-Remaining"] == {
                    "$ref": "#/components/headers/RateLimit-Remaining"
                }, (method, path, code)


# --- over real HTTP, as an integrator sees it --------------------------------------------------------------------
def _get(url: str, headers: dict[str, str]) -> tuple[int, Any, dict[str, Any]]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read())


@pytest.mark.django_db(transaction=True)
@override_settings(**LIMITS)
def test_headers_and_429_over_http(live_server, finance):
    from accounts.services import api_token_create

    PaymentMethodFactory()
    _token, key = api_token_create(user=finance)
    headers = {"Authorization": f"Token {key}", "Accept-Language": "en"}
    seen = [_get(f"{live_server.url}{URL}", headers) for _ in range(4)]
    assert [status for status, _h, _b in seen] == [200, 200, 200, 429]
    assert [h["RateLimit-Remaining"] for _s, h, _b in seen] == ["2", "1", "0", "0"]
    _status, response_headers, body = seen[-1]
    assert body["error"]["code"] == "RATE_LIMITED"
    assert int(response_headers["Retry-After"]) >= 1
    assert response_headers["RateLimit-Policy"] == "3;w=60"
