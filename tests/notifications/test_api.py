"""`/api/notifications/` (own inbox, unread count, read, dismiss, read-all, preferences),
opening a PR marks its notifications read (API detail and admin page), and the owners'
delivery log with retry (API and admin action). Hostile input: clear error, nothing changed."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from payments.notifications.models import Notification, NotificationDelivery, NotificationPreference
from tests.accounts.factories import PASSWORD
from tests.approvals.factories import approver_users
from tests.notifications.factories import enable_email
from tests.payments.factories import make_pr

pytestmark = pytest.mark.django_db
URL = "/api/notifications/"
DELIVERIES = "/api/notification-deliveries/"


def inbox_of(user, n: int, maker) -> list:
    """`n` PRs awaiting `user` (one notification each)."""
    return [make_pr(maker=maker, steps=[("anyof", [user])], name=f"PR {i}", request=True) for i in range(n)]


def snapshot() -> list:
    return list(Notification.objects.order_by("id").values_list("id", "read_at", "dismissed_at"))


def test_list_is_own_only_newest_first_with_unread_count(maker, approver, client_for):
    (other,) = approver_users(1)
    prs = inbox_of(approver, 3, maker)
    inbox_of(other, 2, maker)
    body = client_for(approver).get(URL).json()
    assert body["count"] == 3 and body["unread_count"] == 3
    assert [r["pr"] for r in body["results"]] == [p.pk for p in reversed(prs)]
    first = body["results"][0]
    assert set(first) == {
        "id",
        "kind",
        "pr",
        "pr_name",
        "title",
        "body",
        "on_behalf_of",
        "on_behalf_of_name",
        "created_at",
        "is_read",
        "read_at",
    }
    assert first["kind"] == "approval_requested" and first["is_read"] is False and first["pr_name"] == "PR 2"


def test_read_dismiss_read_all_and_unread_filter(maker, approver, client_for):
    inbox_of(approver, 3, maker)
    client = client_for(approver)
    ids = [r["id"] for r in client.get(URL).json()["results"]]
    r = client.post(f"{URL}{ids[0]}/read/")
    assert r.status_code == 200 and r.json()["is_read"] is True
    assert client.post(f"{URL}{ids[0]}/read/").status_code == 200  # again: fine, unchanged
    unread = client.get(URL, {"unread": "true"}).json()
    assert unread["count"] == 2 and unread["unread_count"] == 2
    assert [r["id"] for r in client.get(URL, {"unread": "false"}).json()["results"]] == [ids[0]]
    assert client.post(f"{URL}{ids[1]}/dismiss/").status_code == 200
    body = client.get(URL).json()
    assert body["count"] == 2 and ids[1] not in [r["id"] for r in body["results"]]
    assert client.post(f"{URL}{ids[1]}/read/").status_code == 404  # dismissed: gone from the inbox
    r = client.post(f"{URL}read-all/")
    assert r.json() == {"marked_read": 1, "unread_count": 0}
    assert client.get(URL).json()["unread_count"] == 0


def test_someone_elses_notification_is_not_found_and_unchanged(maker, approver, client_for):
    (other,) = approver_users(1)
    inbox_of(other, 1, maker)
    theirs = Notification.objects.get(recipient=other)
    before = snapshot()
    client = client_for(approver)
    for action in ("read", "dismiss"):
        r = client.post(f"{URL}{theirs.pk}/{action}/")
        assert r.status_code == 404 and r.json()["error"]["code"] == "NOTIFICATION_NOT_FOUND"
    assert client.post(f"{URL}read-all/").json()["marked_read"] == 0
    assert snapshot() == before


@pytest.mark.parametrize("path", ["abc/read/", "99999999999999999999999/read/", "-1/dismiss/", "1.5/read/"])
def test_hostile_ids_are_not_found(approver, client_for, path):
    assert client_for(approver).post(f"{URL}{path}").status_code == 404


@pytest.mark.parametrize("params", [{"unread": "maybe"}, {"unread": "'; drop table notifications;--"}, {"bogus": "1"}])
def test_hostile_list_filters_are_refused(maker, approver, client_for, params):
    inbox_of(approver, 1, maker)
    r = client_for(approver).get(URL, params)
    # A parameter the document does not declare is refused before the filters read it (issue 20).
    expected = "UNKNOWN_PARAMETER" if "bogus" in params else "VALIDATION_ERROR"
    assert r.status_code == 400 and r.json()["error"]["code"] == expected


def test_anonymous_is_refused(anon_client):
    assert anon_client.get(URL).status_code in (401, 403)
    assert anon_client.post(f"{URL}read-all/").status_code in (401, 403)
    assert anon_client.get(f"{URL}preferences/").status_code in (401, 403)


def test_list_query_count_is_pinned(maker, approver, client_for):
    client = client_for(approver)
    client.get(URL)  # warm-up: the token's first use is recorded once

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(URL).status_code == 200
        return len(ctx.captured_queries)

    inbox_of(approver, 2, maker)
    small = count()
    inbox_of(approver, 20, maker)
    assert count() == small
    assert small <= 5  # token, page count, page (with PR and substitute joined), unread count


def test_preferences_default_in_app_only_and_patch(approver, client_for):
    client = client_for(approver)
    r = client.get(f"{URL}preferences/")
    assert r.status_code == 200 and r.json()["in_app"] is True and r.json()["email"] is False
    assert not NotificationPreference.objects.exists()  # reading writes nothing
    r = client.patch(f"{URL}preferences/", {"email": True}, format="json")
    assert r.status_code == 200 and (r.json()["in_app"], r.json()["email"]) == (True, True)
    r = client.patch(f"{URL}preferences/", {"in_app": False}, format="json")
    assert (r.json()["in_app"], r.json()["email"]) == (False, True)


@pytest.mark.parametrize(
    "payload", [{"email": "sometimes"}, {"email": None}, {"sms": True}, {"in_app": [1]}, ["email"]]
)
def test_hostile_preferences_are_refused_and_change_nothing(approver, client_for, payload):
    client = client_for(approver)
    client.patch(f"{URL}preferences/", {"email": True}, format="json")
    before = list(NotificationPreference.objects.values_list("in_app", "email"))
    r = client.patch(f"{URL}preferences/", payload, format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "VALIDATION_ERROR"
    assert list(NotificationPreference.objects.values_list("in_app", "email")) == before


def test_preferences_are_honoured(maker, client_for):
    a, b = approver_users(2)
    client_for(a).patch(f"{URL}preferences/", {"email": True, "in_app": False}, format="json")
    inbox_of(a, 1, maker)
    inbox_of(b, 1, maker)
    assert client_for(a).get(URL).json()["count"] == 0
    assert NotificationDelivery.objects.get().notification.recipient == a
    assert client_for(b).get(URL).json()["count"] == 1


# --- opening a PR marks its notifications read -------------------------------------------------------------
def test_reading_a_pr_through_the_api_writes_nothing_and_a_post_marks_its_notifications_read(
    maker, approver, client_for
):
    """A GET is side-effect free; the client that shows the PR says so with POST read-all {pr}."""
    pr, other_pr = inbox_of(approver, 2, maker)
    client = client_for(approver)
    assert client.get(f"/api/payment-requests/{pr.pk}/").status_code == 200
    assert Notification.objects.get(pr=pr).read_at is None
    r = client.post(f"{URL}read-all/", {"pr": pr.pk}, format="json")
    assert r.status_code == 200 and r.json() == {"marked_read": 1, "unread_count": 1}
    assert Notification.objects.get(pr=pr).read_at is not None
    assert Notification.objects.get(pr=other_pr).read_at is None
    assert client.post(f"{URL}read-all/", {"pr": pr.pk}, format="json").json()["marked_read"] == 0
    assert client.post(f"{URL}read-all/", {"pr": "x"}, format="json").status_code == 400


def test_someone_else_opening_the_pr_reads_nothing_of_mine(maker, approver, finance, client_for):
    (pr,) = inbox_of(approver, 1, maker)
    assert client_for(finance).get(f"/api/payment-requests/{pr.pk}/").status_code == 200
    assert client_for(finance).post(f"{URL}read-all/", {"pr": pr.pk}, format="json").json()["marked_read"] == 0
    assert Notification.objects.get(pr=pr).read_at is None


def test_opening_a_pr_in_the_admin_marks_its_notifications_read(maker, approver):
    (pr,) = inbox_of(approver, 1, maker)
    browser = Client()
    assert browser.login(email=approver.email, password=PASSWORD)
    r = browser.get(f"/admin/payments/paymentrequest/{pr.pk}/change/")
    assert r.status_code == 200
    assert Notification.objects.get(pr=pr).read_at is not None


# --- delivery log (owners) ---------------------------------------------------------------------------------
def failed_delivery(maker, settings) -> NotificationDelivery:
    from payments.notifications.services import deliveries_dispatch

    (a,) = approver_users(1)
    enable_email(a)
    settings.EMAIL_BACKEND = "tests.notifications.backends.FailingBackend"
    settings.NOTIFICATION_MAX_ATTEMPTS = 1
    make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    deliveries_dispatch()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return NotificationDelivery.objects.get()


def test_owners_see_the_delivery_log_and_retry_failures(maker, owner_client, settings):
    d = failed_delivery(maker, settings)
    body = owner_client.get(DELIVERIES, {"status": "failed"}).json()
    assert body["count"] == 1
    row = body["results"][0]
    assert (row["id"], row["status"], row["attempts"]) == (d.pk, "failed", 1)
    assert "ConnectionRefusedError" in row["last_error"]
    r = owner_client.post(f"{DELIVERIES}{d.pk}/retry/")
    assert r.status_code == 200 and r.json()["status"] == "pending"
    r = owner_client.post(f"{DELIVERIES}{d.pk}/retry/")
    assert r.status_code == 409 and r.json()["error"]["code"] == "DELIVERY_NOT_FAILED"


def test_non_owners_cannot_see_or_retry_deliveries(maker, finance, approver, client_for, settings):
    d = failed_delivery(maker, settings)
    for user in (finance, approver):
        client = client_for(user)
        assert client.get(DELIVERIES).json()["error"]["code"] == "NOT_OWNER"
        assert client.post(f"{DELIVERIES}{d.pk}/retry/").status_code == 403
    d.refresh_from_db()
    assert d.status == "failed"


def test_delivery_log_query_count_is_pinned(maker, owner_client, settings):
    failed_delivery(maker, settings)
    owner_client.get(DELIVERIES)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert owner_client.get(DELIVERIES).status_code == 200
        return len(ctx.captured_queries)

    small = count()
    (a,) = approver_users(1)
    enable_email(a)
    inbox_of(a, 10, maker)
    assert count() == small


def test_admin_retry_action_and_owner_only_log(maker, owner, approver, settings):
    d = failed_delivery(maker, settings)
    browser = Client()
    assert browser.login(email=approver.email, password=PASSWORD)
    assert browser.get("/admin/notifications/notificationdelivery/").status_code == 403
    assert browser.login(email=owner.email, password=PASSWORD)
    assert browser.get("/admin/notifications/notificationdelivery/").status_code == 200
    r = browser.post(
        "/admin/notifications/notificationdelivery/",
        {"action": "retry_failed", "_selected_action": [d.pk]},
        follow=True,
    )
    assert r.status_code == 200
    d.refresh_from_db()
    assert d.status == "pending"


def test_admin_my_notifications_shows_only_mine(maker, approver):
    (other,) = approver_users(1)
    inbox_of(approver, 1, maker)
    inbox_of(other, 1, maker)
    theirs = Notification.objects.get(recipient=other)
    browser = Client()
    assert browser.login(email=approver.email, password=PASSWORD)
    page = browser.get("/admin/notifications/notification/")
    assert page.status_code == 200 and page.context["cl"].result_count == 1
    r = browser.get(f"/admin/notifications/notification/{theirs.pk}/change/")
    assert r.status_code in (302, 403, 404)


def test_reject_via_api_tells_the_maker(maker, approver, client_for):
    (pr,) = inbox_of(approver, 1, maker)
    r = client_for(approver).post(f"/api/payment-requests/{pr.pk}/reject/", {"reason": "Sai số tiền"}, format="json")
    assert r.status_code == 200
    body = client_for(maker).get(URL).json()
    assert body["unread_count"] == 1 and body["results"][0]["kind"] == "rejected"
    assert "Sai số tiền" in body["results"][0]["body"]


def test_admin_my_channels_add_then_change_own_only(approver):
    (other,) = approver_users(1)
    browser = Client()
    assert browser.login(email=approver.email, password=PASSWORD)
    url = "/admin/notifications/notificationpreference/"
    r = browser.post(f"{url}add/", {"in_app": "on", "email": "on"})
    assert r.status_code == 302
    mine = NotificationPreference.objects.get(user=approver)
    assert (mine.in_app, mine.email) == (True, True)
    assert browser.get(f"{url}add/").status_code == 403  # one row per user
    r = browser.post(f"{url}{mine.pk}/change/", {"in_app": "on"})
    assert r.status_code == 302
    mine.refresh_from_db()
    assert (mine.in_app, mine.email) == (True, False)
    theirs = NotificationPreference.objects.create(user=other, email=True)
    browser.post(f"{url}{theirs.pk}/change/", {"in_app": "on"})
    theirs.refresh_from_db()
    assert theirs.email is True


@pytest.mark.parametrize("params", [{"status": "bogus"}, {"channel": "sms"}, {"recipient": "abc"}, {"pr": "1 or 1=1"}])
def test_hostile_delivery_filters_are_refused(owner_client, params):
    r = owner_client.get(DELIVERIES, params)
    assert r.status_code == 400 and r.json()["error"]["code"] == "VALIDATION_ERROR"


def test_retry_of_an_unknown_delivery_is_not_found(owner_client):
    assert owner_client.post(f"{DELIVERIES}999999/retry/").status_code == 404
    assert owner_client.post(f"{DELIVERIES}abc/retry/").status_code == 404


def test_preferences_schema_allows_the_null_updated_at_of_unsaved_defaults(approver, client_for):
    """Found by the API fuzzer: a user who never saved preferences gets `updated_at: null`."""
    client = client_for(approver)
    assert client.get("/api/notifications/preferences/").json()["updated_at"] is None
    schema = client.get("/api/schema/?format=json").json()
    assert schema["components"]["schemas"]["NotificationPreference"]["properties"]["updated_at"].get("nullable") is True
