"""Credential hygiene (issue #17, payment controls): a new password or a deactivation revokes all the
user's API tokens, through every door (service, API, admin), in the same transaction, recorded without
the token; users list and revoke their own tokens; the sign-in lock-out counts by the same e-mail key
the sign-in lookup finds accounts by; the audit CSV export is inert in a spreadsheet."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth import authenticate
from django.db import connection
from django.db.models import Value
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import services
from accounts.emails import EmailKey, email_key
from accounts.models import ApiToken, User
from accounts.requestguard.models import SignInThrottle
from acountee.errors import ProtectedError
from audit.models import AuditEntry, SecurityEvent
from audit.services import audit_log
from tests.accounts.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW = "Mùa-thu-Hà-Nội-2026"
TOKENS = "/api/tokens/"


def token_for(user: User) -> str:
    _token, key = services.api_token_create(user=user)
    return key


def api(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def works(key: str) -> bool:
    return api(key).get("/api/me/").status_code == 200


def session_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def revocations(user: User):
    return SecurityEvent.objects.filter(kind="token_revoked", details__target_user=user.pk)


def assert_recorded_without_the_tokens(user: User, keys: list[str], *, reason: str, actor: User | None) -> None:
    [event] = revocations(user)
    assert event.details["count"] == len(keys) and event.details["reason"] == reason
    assert event.user_id == (actor.pk if actor else None)
    [entry] = AuditEntry.objects.filter(action="revoke_api_tokens", record_id=str(user.pk))
    assert entry.table_name == "users" and entry.metadata["count"] == len(keys)
    recorded = str(event.details) + str(entry.metadata)
    for key in keys:
        assert key not in recorded and key[:8] not in recorded and ApiToken.hash_key(key) not in recorded


# --- 1. a new password or a deactivation revokes every token of the user --------------------------------------------
def test_credentials_revoked_on_password_change(finance, owner):
    keys = [token_for(finance), token_for(finance)]
    other = token_for(owner)
    services.user_update(user=finance, actor=owner, password=NEW)
    assert not ApiToken.objects.filter(user=finance).exists()
    assert not any(works(key) for key in keys)
    assert works(other)  # nobody else's
    assert_recorded_without_the_tokens(finance, keys, reason="password_set", actor=owner)


def test_deactivation_revokes_api_tokens(finance, owner):
    keys = [token_for(finance)]
    services.user_deactivate(user=finance, actor=owner)
    assert not ApiToken.objects.filter(user=finance).exists()
    # Reactivating does not bring a token back.
    services.user_update(user=finance, actor=owner, is_active=True)
    assert not works(keys[0])
    assert_recorded_without_the_tokens(finance, keys, reason="deactivated", actor=owner)


def test_other_changes_keep_api_tokens_and_record_no_revocation(finance, owner):
    key = token_for(finance)
    services.user_update(user=finance, actor=owner, name="Tên mới", language="vi", is_active=True)
    assert works(key)
    assert not revocations(finance).exists()


def test_refused_deactivation_of_the_last_owner_keeps_their_tokens(owner):
    key = token_for(owner)
    with pytest.raises(ProtectedError) as refused:
        services.user_deactivate(user=owner, actor=owner)
    assert refused.value.code == "LAST_OWNER"
    assert works(key)


def test_token_revocation_shares_the_password_changes_transaction(finance, owner, monkeypatch):
    key = token_for(finance)
    before = User.objects.get(pk=finance.pk).password

    def fail(**kwargs):
        raise RuntimeError("recording failed")

    monkeypatch.setattr(services, "_api_tokens_revoke_all", fail)
    with pytest.raises(RuntimeError):
        services.user_update(user=finance, actor=owner, password=NEW)
    # Nothing half-done: the old password and the token both still hold.
    assert User.objects.get(pk=finance.pk).password == before
    assert works(key)


def test_password_set_through_the_api_revokes_api_tokens(finance, owner_client, owner):
    key = token_for(finance)
    response = owner_client.patch(f"/api/users/{finance.pk}/", {"password": NEW}, format="json")
    assert response.status_code == 200, response.content
    assert not works(key)
    assert_recorded_without_the_tokens(finance, [key], reason="password_set", actor=owner)


def test_an_owner_setting_their_own_password_through_the_api_revokes_the_token_in_use(owner):
    key = token_for(owner)
    assert api(key).patch(f"/api/users/{owner.pk}/", {"password": NEW}, format="json").status_code == 200
    assert not works(key)


@pytest.mark.parametrize("how", ["patch", "delete"])
def test_deactivation_through_the_api_revokes_api_tokens(how, finance, owner_client):
    key = token_for(finance)
    url = f"/api/users/{finance.pk}/"
    if how == "patch":
        response = owner_client.patch(url, {"is_active": False}, format="json")
    else:
        response = owner_client.delete(url)
    assert response.status_code in (200, 204), response.content
    assert not ApiToken.objects.filter(user=finance).exists() and not works(key)
    assert revocations(finance).get().details["reason"] == "deactivated"


def test_password_set_on_the_admin_password_page_revokes_api_tokens(finance, owner):
    key = token_for(finance)
    response = session_for(owner).post(
        f"/admin/accounts/user/{finance.pk}/password/", {"new_password1": NEW, "new_password2": NEW}
    )
    assert response.status_code == 302
    assert not works(key)
    assert_recorded_without_the_tokens(finance, [key], reason="password_set", actor=owner)


def test_own_password_change_in_the_admin_revokes_api_tokens(finance):
    key = token_for(finance)
    response = session_for(finance).post(
        "/admin/password_change/", {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/password_change/done/"
    assert not works(key)
    assert_recorded_without_the_tokens(finance, [key], reason="password_set", actor=finance)


def test_deactivation_on_the_admin_change_page_revokes_api_tokens(finance, owner):
    key = token_for(finance)
    data = {  # "is_active" left out: the box unticked
        "email": finance.email,
        "name": finance.name,
        "team": "",
        "language": "",
        "user_roles-TOTAL_FORMS": "1",
        "user_roles-INITIAL_FORMS": "1",
        "user_roles-MIN_NUM_FORMS": "0",
        "user_roles-MAX_NUM_FORMS": "1000",
    }
    response = session_for(owner).post(f"/admin/accounts/user/{finance.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not User.objects.get(pk=finance.pk).is_active
    assert not ApiToken.objects.filter(user=finance).exists() and not works(key)


def test_deactivation_by_the_admin_action_revokes_api_tokens(finance, approver, owner):
    keys = {finance.pk: token_for(finance), approver.pk: token_for(approver)}
    response = session_for(owner).post(
        "/admin/accounts/user/", {"action": "deactivate_users", "_selected_action": list(keys)}
    )
    assert response.status_code == 302
    assert not ApiToken.objects.filter(user_id__in=list(keys)).exists()
    assert {e.details["target_user"] for e in SecurityEvent.objects.filter(kind="token_revoked")} == set(keys)


# --- 2. users list and revoke their own tokens ------------------------------------------------------------------
def test_users_list_only_their_own_tokens_never_a_key(finance, approver):
    mine = [token_for(finance), token_for(finance)]
    theirs = token_for(approver)
    response = api(mine[1]).get(TOKENS)
    assert response.status_code == 200
    rows = response.json()["results"]
    assert {r["prefix"] for r in rows} == {key[:8] for key in mine}
    assert set(rows[0]) == {"id", "prefix", "created_at", "last_used_at", "is_current"}
    assert [r["is_current"] for r in rows if r["prefix"] == mine[1][:8]] == [True]
    text = response.content.decode()
    for key in [*mine, theirs]:
        assert key not in text and ApiToken.hash_key(key) not in text
    assert theirs[:8] not in text


def test_the_token_list_runs_a_fixed_number_of_queries(finance):
    key = token_for(finance)
    api(key).get(TOKENS)  # last_used_at written once; not counted below

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api(key).get(TOKENS).status_code == 200
        return len(queries)

    few = count()
    for _ in range(5):
        token_for(finance)
    assert count() == few


def test_an_owner_lists_only_their_own_tokens_too(owner, finance):
    key = token_for(owner)
    token_for(finance)
    assert [r["prefix"] for r in api(key).get(TOKENS).json()["results"]] == [key[:8]]


def test_a_session_user_lists_their_tokens(finance):
    key = token_for(finance)
    assert [r["prefix"] for r in session_for(finance).get(TOKENS).json()["results"]] == [key[:8]]


def test_a_user_revokes_one_of_their_own_tokens(finance):
    keep, lost = token_for(finance), token_for(finance)
    lost_id = ApiToken.objects.get(key_hash=ApiToken.hash_key(lost)).pk
    assert api(keep).delete(f"{TOKENS}{lost_id}/").status_code == 204
    assert not works(lost) and works(keep)
    event = SecurityEvent.objects.filter(kind="token_revoked").get()
    assert event.user_id == finance.pk and lost not in str(event.details)
    assert api(keep).delete(f"{TOKENS}{lost_id}/").status_code == 404  # gone


def test_someone_elses_token_is_a_404_like_a_missing_one(finance, owner):
    victim = token_for(owner)
    victim_id = ApiToken.objects.get(key_hash=ApiToken.hash_key(victim)).pk
    client = api(token_for(finance))
    foreign = client.delete(f"{TOKENS}{victim_id}/")
    missing = client.delete(f"{TOKENS}999999999/")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    assert works(victim)
    assert not SecurityEvent.objects.filter(kind="token_revoked").exists()


def test_token_endpoints_need_a_signed_in_user(anon_client):
    assert anon_client.get(TOKENS).status_code == 401
    assert anon_client.delete(f"{TOKENS}1/").status_code == 401


def test_an_owner_revoking_a_token_in_the_admin_goes_through_the_service(owner, finance):
    key = token_for(finance)
    token = ApiToken.objects.get(key_hash=ApiToken.hash_key(key))
    response = session_for(owner).post(f"/admin/accounts/apitoken/{token.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not works(key)
    assert SecurityEvent.objects.filter(kind="token_revoked", user_id=finance.pk).count() == 1


# --- 3. the lock-out counts by the sign-in lookup's own key ------------------------------------------------------
ACCOUNT = "admin@x.test"
VARIANTS = [
    "ADMIN@X.TEST",
    "Admin@X.Test",
    " admin@x.test ",
    "\uff41\uff44\uff4d\uff49\uff4e@x.test",  # full-width letters: NFKC makes them "admin"
    "adm\u0131n@x.test",  # Turkish dotless i: PostgreSQL's UPPER (C.UTF-8) made it "ADMIN"
    "ADM\u0130N@X.TEST",  # Turkish dotted capital I: PostgreSQL's LOWER (C.UTF-8) makes it "admin"
    "admin@\uff58.test",  # a full-width domain letter (the API's e-mail validator lets it through)
    "\u017fADMIN@X.TEST",  # a long s, NFKC "s": another address, consistently
]


@pytest.fixture
def _limits(settings):
    settings.SIGN_IN_LOCKOUT_FAILURES = 5
    settings.SIGN_IN_LOCKOUT_IP_FAILURES = 1000
    settings.SIGN_IN_LOCKOUT_WINDOW_SECONDS = 900
    settings.SIGN_IN_LOCKOUT_SECONDS = 900


@pytest.fixture
def account(_limits) -> User:
    return UserFactory(email=ACCOUNT, roles=["owner"])


def admin_sign_in(email: str, password: str) -> int:
    return Client().post("/admin/login/", {"username": email, "password": password}).status_code


def api_sign_in(email: str, password: str) -> int:
    return APIClient().post("/api/auth/token/", {"email": email, "password": password}, format="json").status_code


@pytest.mark.parametrize("variant", [ACCOUNT, *VARIANTS, "\u017fTRASSE@Stra\u00dfe.vn", "K\u212a@x.test"])
def test_email_key_is_the_same_in_python_and_in_postgresql(variant):
    UserFactory()
    # Stored addresses are stripped (services): the SQL side sees them without surrounding spaces.
    in_sql = User.objects.annotate(k=EmailKey(Value(variant.strip()))).values_list("k", flat=True).first()
    assert in_sql == email_key(variant)


@pytest.mark.parametrize("variant", VARIANTS)
def test_sign_in_finds_the_account_exactly_when_the_lockout_counts_it_as_the_account(account, variant):
    found = authenticate(None, email=variant, password=PASSWORD)
    same_key = email_key(variant) == email_key(ACCOUNT)
    assert (found is not None and found.pk == account.pk) == same_key, (variant, found, same_key)


@pytest.mark.parametrize("variant", VARIANTS)
def test_variants_of_a_locked_account_get_no_fresh_attempt_budget(account, variant):
    for _ in range(5):
        admin_sign_in(ACCOUNT, "wrong")
    assert api_sign_in(ACCOUNT, PASSWORD) == 429  # locked
    # The right password under any other spelling must not get in while the account is locked.
    assert admin_sign_in(variant, PASSWORD) != 302, variant
    assert api_sign_in(variant, PASSWORD) != 200, variant


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_lockout_counts_by_the_lookups_own_key(_limits, variant):
    api_sign_in(variant, "wrong")
    admin_sign_in(variant, "wrong")
    [row] = SignInThrottle.objects.filter(scope="account")  # (the API refuses some spellings before counting)
    assert row.value == email_key(variant) and row.failures >= 1


def test_failures_under_case_variants_count_against_one_account(account):
    for variant in ["ADMIN@X.TEST", "Admin@x.test", "aDmIn@X.tEsT", "\uff41\uff44\uff4d\uff49\uff4e@x.test"]:
        admin_sign_in(variant, "wrong")
    assert admin_sign_in(ACCOUNT, "wrong") == 200
    assert api_sign_in(ACCOUNT, PASSWORD) == 429
    assert SecurityEvent.objects.filter(kind="lockout").get().email == ACCOUNT


@pytest.mark.parametrize("lookalike", ["adm\u0131n@x.test", "ADM\u0130N@x.test", "admin@\uff58.test"])
def test_no_lookalike_account_beside_an_existing_one(account, owner_client, lookalike):
    response = owner_client.post("/api/users/", {"email": lookalike, "password": NEW}, format="json")
    assert response.status_code == 400 or (
        response.status_code == 409 and response.json()["error"]["code"] == "DUPLICATE_EMAIL"
    ), response.content
    assert User.objects.count() == 2


# --- 4. the audit CSV export is inert in a spreadsheet ---------------------------------------------------------
def test_audit_csv_export_neutralises_formula_prefixes(owner_client):
    hostile = {"action": "@SUM(A1)", "table": "+cmd", "record_id": '=HYPERLINK("http://x")'}
    audit_log(action=hostile["action"], table=hostile["table"], record_id=hostile["record_id"], actor=None)
    owner_client.post("/api/teams/", {"name": "Đội A"}, format="json", HTTP_USER_AGENT="-2+3\tcurl")
    response = owner_client.get("/api/audit/export/", {"format": "csv"})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    [semantic] = [r for r in rows if r["table"] == "'" + hostile["table"]]
    assert semantic["action"] == "'" + hostile["action"] and semantic["record_id"] == "'" + hostile["record_id"]
    assert {r["user_agent"] for r in rows if r["table"] == "teams"} == {"'-2+3\tcurl"}
    for row in rows:
        assert not any(value.startswith(("=", "+", "-", "@", "\t", "\r")) for value in row.values()), row
    assert rows[0]["id"].isdigit()  # numbers stay numbers


def test_every_export_reuses_the_codebases_one_formula_helper():
    from acountee import spreadsheet
    from audit.api import views
    from payments.reports import exports as reports
    from payments.workbench import exports

    assert views.neutralise is exports.neutralise is reports.neutralise is spreadsheet.neutralise
