"""Sign-in lock-out on the API token endpoint and the admin sign-in (issue 11,
docs/api-guard.md): counted per account and per IP, refused even with the right password,
reset by a success, one security event per lock-out, limits from settings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.requestguard.models import SignInThrottle
from audit.models import SecurityEvent

pytestmark = pytest.mark.django_db
TOKEN = "/api/auth/token/"
ADMIN_LOGIN = "/admin/login/"


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.SIGN_IN_LOCKOUT_FAILURES = 5
    settings.SIGN_IN_LOCKOUT_IP_FAILURES = 20
    settings.SIGN_IN_LOCKOUT_WINDOW_SECONDS = 900
    settings.SIGN_IN_LOCKOUT_SECONDS = 900


def token(client, email, password, ip="203.0.113.7"):
    return client.post(TOKEN, {"email": email, "password": password}, format="json", REMOTE_ADDR=ip)


def err(response) -> str:
    return response.json()["error"]["code"]


def lockouts():
    return SecurityEvent.objects.filter(kind="lockout")


def test_the_fifth_failure_locks_the_account_even_for_the_right_password(anon_client, owner, password):
    for _ in range(4):
        r = token(anon_client, owner.email, "wrong")
        assert r.status_code == 401 and err(r) == "INVALID_CREDENTIALS"
    fifth = token(anon_client, owner.email, "wrong")
    assert fifth.status_code == 429 and err(fifth) == "TOO_MANY_ATTEMPTS"
    assert set(fifth.json()["error"]) == {"code", "message", "details"}
    assert 890 <= int(fifth["Retry-After"]) <= 900
    right = token(anon_client, owner.email, password, ip="198.51.100.1")  # another IP does not help
    assert right.status_code == 429 and err(right) == "TOO_MANY_ATTEMPTS" and "token" not in right.json()
    # One event for the lock-out, with who, from where and how long.
    (event,) = lockouts()
    assert event.email == owner.email and str(event.ip) == "203.0.113.7"
    assert event.details["scope"] == "account" and event.details["via"] == "api_token"
    assert event.details["failures"] == 5 and event.details["locked_until"]


def test_the_lock_ends_after_the_lock_out_period(anon_client, owner, password):
    for _ in range(5):
        token(anon_client, owner.email, "wrong")
    assert token(anon_client, owner.email, password).status_code == 429
    SignInThrottle.objects.filter(scope="account").update(
        locked_until=SignInThrottle.objects.get(scope="account").locked_until - timedelta(seconds=901)
    )
    assert token(anon_client, owner.email, password).status_code == 200
    # …and the count starts over: one more failure is a plain 401.
    assert token(anon_client, owner.email, "wrong").status_code == 401


def test_a_success_resets_the_account_count(anon_client, owner, password):
    for _ in range(4):
        token(anon_client, owner.email, "wrong")
    assert token(anon_client, owner.email, password).status_code == 200
    assert not SignInThrottle.objects.filter(scope="account").exists()
    for _ in range(4):
        assert token(anon_client, owner.email, "wrong").status_code == 401
    assert not lockouts().exists()


def test_failures_outside_the_window_do_not_add_up(anon_client, owner):
    for _ in range(4):
        token(anon_client, owner.email, "wrong")
    row = SignInThrottle.objects.get(scope="account")
    SignInThrottle.objects.filter(pk=row.pk).update(window_started_at=row.window_started_at - timedelta(seconds=901))
    assert token(anon_client, owner.email, "wrong").status_code == 401
    assert SignInThrottle.objects.get(pk=row.pk).failures == 1


def test_e_mail_case_and_spaces_are_one_account(anon_client, owner):
    for email in ["OWNER@acountee.test", "Owner@Acountee.Test", " owner@acountee.test", "owner@ACOUNTEE.test"]:
        token(anon_client, email, "wrong")
    assert token(anon_client, owner.email, "wrong").status_code == 429


def test_unknown_accounts_are_counted_too(anon_client):
    """Otherwise the answers would tell which e-mails exist."""
    for _ in range(4):
        assert token(anon_client, "nobody@acountee.test", "x").status_code == 401
    assert token(anon_client, "nobody@acountee.test", "x").status_code == 429


def test_one_ip_guessing_many_accounts_is_locked_out(anon_client, owner, password, settings):
    settings.SIGN_IN_LOCKOUT_IP_FAILURES = 3
    assert token(anon_client, "a@acountee.test", "x", ip="192.0.2.9").status_code == 401
    assert token(anon_client, "b@acountee.test", "x", ip="192.0.2.9").status_code == 401
    assert token(anon_client, "c@acountee.test", "x", ip="192.0.2.9").status_code == 429
    assert token(anon_client, owner.email, password, ip="192.0.2.9").status_code == 429
    assert token(anon_client, owner.email, password, ip="192.0.2.10").status_code == 200
    (event,) = lockouts()
    assert event.details["scope"] == "ip" and str(event.ip) == "192.0.2.9"
    # The owner's success did not unlock the IP (one valid account must not reset an attacker's IP).
    assert token(anon_client, "d@acountee.test", "x", ip="192.0.2.9").status_code == 429


def test_limits_come_from_settings(anon_client, owner, password, settings):
    settings.SIGN_IN_LOCKOUT_FAILURES = 2
    settings.SIGN_IN_LOCKOUT_SECONDS = 60
    assert token(anon_client, owner.email, "wrong").status_code == 401
    r = token(anon_client, owner.email, "wrong")
    assert r.status_code == 429 and 55 <= int(r["Retry-After"]) <= 60


@pytest.mark.parametrize(
    "payload",
    [
        {"email": "owner@acountee.test\x00", "password": "x"},
        {"email": "a" * 5000 + "@x.vn", "password": "x"},
        {"email": "not-an-email", "password": "x"},
        {"email": ["owner@acountee.test"], "password": "x"},
        {"email": "owner@acountee.test"},
        {},
    ],
)
def test_hostile_token_requests_are_400_and_count_nothing(anon_client, owner, payload):
    r = anon_client.post(TOKEN, payload, format="json")
    assert r.status_code == 400
    assert not SignInThrottle.objects.exists()


def test_query_counts_of_a_failed_and_a_refused_attempt(anon_client, owner, django_assert_num_queries):
    token(anon_client, owner.email, "wrong")  # rows exist: the next ones update them
    # check, user lookup, sign_in_failed event, two upserts (account, IP)
    with django_assert_num_queries(5):
        assert token(anon_client, owner.email, "wrong").status_code == 401
    for _ in range(3):
        token(anon_client, owner.email, "wrong")
    with django_assert_num_queries(1):  # locked: refused by the check alone, no password hashing
        assert token(anon_client, owner.email, "wrong").status_code == 429


def test_purge_deletes_spent_counters_only(anon_client, owner):
    for _ in range(5):
        token(anon_client, owner.email, "wrong")
    token(anon_client, "someone@acountee.test", "x", ip="192.0.2.50")
    SignInThrottle.objects.filter(value__in=["someone@acountee.test", "192.0.2.50"]).update(
        window_started_at=SignInThrottle.objects.get(value="192.0.2.50").window_started_at - timedelta(hours=1)
    )
    call_command("purge_request_guard")
    # The owner's lock-out (and the IP count that came with it) stay.
    assert set(SignInThrottle.objects.values_list("value", flat=True)) == {owner.email, "203.0.113.7"}


# --- admin sign-in ------------------------------------------------------------------------------


def admin_sign_in(client, email, password, ip="203.0.113.7"):
    return client.post(ADMIN_LOGIN, {"username": email, "password": password, "next": "/admin/"}, REMOTE_ADDR=ip)


def test_admin_sign_in_locks_out_with_a_clear_message(owner, password):
    client = Client()
    for _ in range(4):
        r = admin_sign_in(client, owner.email, "wrong")
        assert r.status_code == 200 and "Too many failed sign-in attempts" not in r.content.decode()
    fifth = admin_sign_in(client, owner.email, "wrong")
    assert fifth.status_code == 200
    assert "Too many failed sign-in attempts" in fifth.content.decode()
    right = admin_sign_in(client, owner.email, password)
    assert right.status_code == 200 and "Sign-in is locked; try again in 15 minutes" in right.content.decode()
    assert "_auth_user_id" not in client.session
    (event,) = lockouts()
    assert event.details["via"] == "admin" and event.email == owner.email


def test_admin_success_resets_and_counts_are_shared_with_the_api(owner, password, anon_client):
    client = Client()
    for _ in range(4):
        admin_sign_in(client, owner.email, "wrong")
    assert admin_sign_in(client, owner.email, password).status_code == 302
    assert not SignInThrottle.objects.filter(scope="account").exists()
    for _ in range(3):
        token(anon_client, owner.email, "wrong")
    for _ in range(2):
        r = admin_sign_in(Client(), owner.email, "wrong")
    assert "Too many failed sign-in attempts" in r.content.decode()


@pytest.mark.parametrize(
    "data",
    [
        {"username": "owner@acountee.test\x00", "password": "x"},
        {"username": "a" * 5000, "password": "x"},
        {"username": "", "password": ""},
        {"username": "owner@acountee.test"},
        {},
    ],
)
def test_hostile_admin_sign_ins_are_form_errors_not_500(owner, data):
    r = Client().post(ADMIN_LOGIN, data)
    assert r.status_code == 200
    # The admin's username field has no length check: a long one is a (truncated) failed attempt.
    assert all(len(value) <= 255 for value in SignInThrottle.objects.values_list("value", flat=True))
    assert SignInThrottle.objects.filter(scope="account").count() == (1 if len(data.get("username", "")) > 255 else 0)


def test_owners_lift_a_lock_out_in_the_admin(owner, finance, password, anon_client):
    for _ in range(5):
        token(anon_client, finance.email, "wrong")
    row = SignInThrottle.objects.get(scope="account")
    url = "/admin/requestguard/signinthrottle/"
    browser = Client()
    browser.force_login(finance)
    assert browser.get(url).status_code == 403
    browser.force_login(owner)
    listing = browser.get(url)
    assert listing.status_code == 200 and finance.email in listing.content.decode()
    assert browser.post(f"{url}{row.pk}/delete/", {"post": "yes"}).status_code == 302
    assert token(anon_client, finance.email, password).status_code == 200
