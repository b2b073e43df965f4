"""Lists integrators can sync (issue 20): `updated_since`, `ordering`, cursor paging, and `updated_at` moving whenever
what a list shows changes (docs/API.md, "Syncing a list")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from invoices.models import Invoice
from payments import services
from payments.models import PaymentRequest
from tests.files.factories import stored_file
from tests.payments.factories import PaymentMethodFactory, make_invoice, make_pr

pytestmark = pytest.mark.django_db

PRS = "/api/payment-requests/"
INVOICES = "/api/invoices/"


def _age(model: Any, pk: int, seconds: int = 3600) -> Any:
    """Push a row's `updated_at` into the past (a raw UPDATE, no auto_now), so that a bump is visible."""
    past = timezone.now() - timedelta(seconds=seconds)
    model.objects.filter(pk=pk).update(updated_at=past)
    return past


def _walk(client: Any, url: str) -> tuple[list[int], list[dict[str, Any]]]:
    """Follow `next_cursor` to the end; the ids in order and every page's body."""
    ids: list[int] = []
    pages: list[dict[str, Any]] = []
    response = client.get(url)
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        pages.append(body)
        ids += [row["id"] for row in body["results"]]
        if body["next_cursor"] is None:
            assert body["next"] is None
            return ids, pages
        separator = "&" if "?" in url else "?"
        response = client.get(f"{url}{separator}cursor={body['next_cursor']}")


# --- updated_since ------------------------------------------------------------------------------------------
def test_updated_since_lists_rows_changed_at_or_after_the_instant(finance, client_for):
    client = client_for(finance)
    old, recent = PaymentMethodFactory(), PaymentMethodFactory()
    past = _age(type(old), old.pk)
    since = (past + timedelta(seconds=1)).isoformat()
    body = client.get("/api/payment-methods/", {"updated_since": since}).json()
    assert [row["id"] for row in body["results"]] == [recent.pk]
    at_exactly = client.get("/api/payment-methods/", {"updated_since": past.isoformat()}).json()
    assert {row["id"] for row in at_exactly["results"]} == {old.pk, recent.pk}  # >=
    as_z = client.get("/api/payment-methods/", {"updated_since": "2000-01-01T00:00:00Z"}).json()
    assert as_z["count"] == 2
    # Offsets PostgreSQL would refuse (past ±15:59) are read as the same instant in UTC; the calendar's ends are a 400.
    far = client.get("/api/payment-methods/", {"updated_since": "4286-02-22T15:30:40+16:12"})
    assert far.status_code == 200 and far.json()["count"] == 0
    assert client.get("/api/payment-methods/", {"updated_since": "0001-01-01T00:00:00+01:00"}).status_code == 400
    # ISO 8601 offsets PostgreSQL would refuse (beyond ±15:59) are read in UTC; the year 9999 edge too
    assert client.get("/api/payment-methods/", {"updated_since": "2000-01-01T00:00:00+16:12"}).json()["count"] == 2
    far = client.get("/api/payment-methods/", {"updated_since": "9999-12-31T23:00:00-05:00"})
    assert far.status_code == 400


@pytest.mark.parametrize("value", ["yesterday", "2026-12-01", "2026-12-01T08:00:00", "2026-13-01T00:00:00Z"])
def test_updated_since_without_a_time_zone_or_unreadable_is_a_400(finance, client_for, value):
    response = client_for(finance).get("/api/payment-methods/", {"updated_since": value})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert "time zone" in error["details"]["updated_since"][0]


def test_updated_since_error_speaks_the_callers_language(finance, client_for):
    response = client_for(finance).get(
        "/api/payment-methods/", {"updated_since": "2026-12-01T08:00:00"}, HTTP_ACCEPT_LANGUAGE="vi"
    )
    assert response.status_code == 400
    assert "múi giờ" in response.json()["error"]["details"]["updated_since"][0]


# --- ordering -------------------------------------------------------------------------------------------------
def test_ordering_by_a_whitelisted_field_breaks_ties_on_id(maker, client_for):
    same = [make_pr(maker=maker, amount="1000") for _ in range(3)]
    other = make_pr(maker=maker, amount="500")
    client = client_for(maker)
    up = [row["id"] for row in client.get(PRS, {"ordering": "amount"}).json()["results"]]
    assert up == [other.pk, *sorted(pr.pk for pr in same)]
    down = [row["id"] for row in client.get(PRS, {"ordering": "-amount"}).json()["results"]]
    assert down == [*sorted((pr.pk for pr in same), reverse=True), other.pk]


@pytest.mark.parametrize("value", ["name", "-maker", "amount,amount", "amount,", "password"])
def test_ordering_outside_the_whitelist_is_a_400(maker, client_for, value):
    response = client_for(maker).get(PRS, {"ordering": value})
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"ordering"}


# --- cursor paging ----------------------------------------------------------------------------------------------
def test_cursor_paging_walks_every_row_once_in_updated_at_order(maker, client_for):
    prs = [make_pr(maker=maker) for _ in range(5)]
    for offset, pr in enumerate(reversed(prs)):  # updated_at order is the reverse of id order
        PaymentRequest.objects.filter(pk=pr.pk).update(updated_at=timezone.now() - timedelta(minutes=10 - offset))
    ids, pages = _walk(client_for(maker), f"{PRS}?pagination=cursor&page_size=2")
    assert ids == [pr.pk for pr in reversed(prs)]
    assert [len(page["results"]) for page in pages] == [2, 2, 1]
    assert all(page["count"] == 5 and page["previous"] is None for page in pages)


def test_a_row_changed_while_paging_is_seen_again_later_never_missed(maker, client_for):
    prs = [make_pr(maker=maker) for _ in range(4)]
    for offset, pr in enumerate(prs):
        PaymentRequest.objects.filter(pk=pr.pk).update(updated_at=timezone.now() - timedelta(minutes=10 - offset))
    client = client_for(maker)
    first = client.get(PRS, {"pagination": "cursor", "page_size": 2}).json()
    assert [row["id"] for row in first["results"]] == [prs[0].pk, prs[1].pk]
    services.payment_request_update(pr=prs[0], actor=maker, name="Đổi tên")  # already read: moves to the end
    rest, _pages = _walk(client, f"{PRS}?pagination=cursor&page_size=2&cursor={first['next_cursor']}")
    assert rest == [prs[2].pk, prs[3].pk, prs[0].pk]


def test_cursor_with_updated_since_and_ordering(maker, client_for):
    prs = [make_pr(maker=maker, amount=str(1000 * (i + 1))) for i in range(4)]
    past = _age(PaymentRequest, prs[0].pk)
    since = (past + timedelta(seconds=1)).isoformat()
    client = client_for(maker)
    url = f"{PRS}?pagination=cursor&page_size=1&ordering=-amount&updated_since={since.replace('+', '%2B')}"
    ids, _pages = _walk(client, url)
    assert ids == [prs[3].pk, prs[2].pk, prs[1].pk]


def test_next_link_follows_the_cursor(finance, client_for):
    for _ in range(3):
        PaymentMethodFactory()
    client = client_for(finance)
    body = client.get("/api/payment-methods/", {"pagination": "cursor", "page_size": 2}).json()
    assert "cursor=" in body["next"] and "pagination=" not in body["next"]
    following = client.get(body["next"]).json()
    assert len(following["results"]) == 1 and following["next_cursor"] is None


def test_page_numbers_stay_the_default_with_a_null_next_cursor(finance, client_for):
    for _ in range(3):
        PaymentMethodFactory()
    body = client_for(finance).get("/api/payment-methods/", {"page_size": 2}).json()
    assert set(body) == {"count", "count_is_estimate", "next", "previous", "next_cursor", "results"}
    assert body["next_cursor"] is None and "page=2" in body["next"]


@pytest.mark.parametrize(
    ("query", "code", "field"),
    [
        ({"cursor": "bm90IGEgY3Vyc29y"}, "INVALID_CURSOR", "cursor"),
        ({"cursor": "%%%"}, "INVALID_CURSOR", "cursor"),
        ({"pagination": "cursor", "page": "2"}, "VALIDATION_ERROR", "page"),
        ({"pagination": "pages"}, "VALIDATION_ERROR", "pagination"),
        ({"pagination": "page", "cursor": "eyJvIjoiaWQiLCJ2IjpbMV19"}, "VALIDATION_ERROR", "cursor"),
    ],
)
def test_bad_cursor_requests_are_400s(finance, client_for, query, code, field):
    PaymentMethodFactory()
    response = client_for(finance).get("/api/payment-methods/", query)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == code and field in error["details"]


def test_a_cursor_from_another_ordering_is_refused(finance, client_for):
    for _ in range(3):
        PaymentMethodFactory()
    client = client_for(finance)
    token = client.get("/api/payment-methods/", {"pagination": "cursor", "page_size": 1}).json()["next_cursor"]
    response = client.get("/api/payment-methods/", {"cursor": token, "ordering": "-id"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "INVALID_CURSOR"


# --- every list ------------------------------------------------------------------------------------------------
# Lists that are not a collection to sync, with the reason (docs/API.md, "Syncing a list", says the same).
NOT_SYNCED = {
    "/api/audit/history/": "one record's history: read whole, oldest first",
    "/api/audit/stats/": "counts per table and action, not rows",
}


def _list_operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every collection's list (sub-lists of one object, under `{id}`, are read with their object)."""
    found = []
    for path, operations in document["paths"].items():
        get = operations.get("get")
        if get and "{" not in path and get["operationId"].endswith("_list") and path not in NOT_SYNCED:
            found.append((path, get))
    return found


def test_every_list_declares_updated_since_and_an_ordering_enum(owner_client):
    document = owner_client.get("/api/schema/?format=json").json()
    lists = _list_operations(document)
    assert len(lists) >= 15
    for path, operation in lists:
        parameters = {p["name"]: p for p in operation.get("parameters", [])}
        assert "updated_since" in parameters, path
        assert parameters["updated_since"]["schema"] == {"type": "string", "format": "date-time"}, path
        ordering = parameters["ordering"]["schema"]
        assert "id" in ordering["enum"] and "-id" in ordering["enum"], path
        page = operation["responses"]["200"]["content"]["application/json"]["schema"]
        if "$ref" in page:  # paginated: the cursor switch and the one page shape
            assert {"pagination", "cursor"} <= set(parameters), path
            name = page["$ref"].rsplit("/", 1)[1]
            shape = document["components"]["schemas"][name]
            assert shape["properties"]["next_cursor"] == {**shape["properties"]["next_cursor"], "nullable": True}
            assert "next_cursor" in shape["required"], path


def test_every_list_answers_its_sync_parameters(owner_client, owner):
    document = owner_client.get("/api/schema/?format=json").json()
    since = (timezone.now() - timedelta(days=1)).isoformat()
    for path, operation in _list_operations(document):
        names = {p["name"] for p in operation.get("parameters", [])}
        query: dict[str, str] = {"updated_since": since, "ordering": "-id"}
        if "pagination" in names:
            query.update(pagination="cursor", page_size="1")
        response = owner_client.get(path, query)
        assert response.status_code == 200, (path, response.content)


# --- updated_at moves with what the lists show ------------------------------------------------------------------
def test_a_recorded_approval_and_a_step_advancing_bump_the_request(maker, approver, finance):
    pr = make_pr(maker=maker, steps=[("anyof", [approver]), ("anyof", [finance])], request=True)
    past = _age(PaymentRequest, pr.pk)
    services.payment_request_approve(pr=pr, actor=approver)
    pr.refresh_from_db()
    assert pr.status == "pending" and pr.updated_at > past


def test_attachments_bump_the_request(maker):
    pr = make_pr(maker=maker)
    past = _age(PaymentRequest, pr.pk)
    file = stored_file(content=b"%PDF-1.4 hop dong")
    services.payment_request_attachment_add(pr=pr, file=file, actor=maker)
    pr.refresh_from_db()
    assert pr.updated_at > past
    past = _age(PaymentRequest, pr.pk)
    services.payment_request_attachment_remove(pr=pr, file_id=file.pk, actor=maker)
    pr.refresh_from_db()
    assert pr.updated_at > past


def test_linking_unlinking_and_moving_bump_the_invoice_and_the_requests(maker):
    pr, other = make_pr(maker=maker, type="direct"), make_pr(maker=maker, type="direct")
    invoice = make_invoice()

    def bumped(*rows: Any, action: Any) -> None:
        pasts = [_age(type(row), row.pk) for row in rows]
        action()
        for row, past in zip(rows, pasts, strict=True):
            row.refresh_from_db()
            assert row.updated_at > past, row

    bumped(invoice, pr, action=lambda: services.invoice_link(invoice=invoice, pr=pr, actor=maker))
    bumped(invoice, pr, other, action=lambda: services.invoice_move(invoice=invoice, pr=other, actor=maker))
    bumped(invoice, other, action=lambda: services.invoice_unlink(invoice=invoice, actor=maker))
    services.invoice_link(invoice=invoice, pr=pr, actor=maker)
    past = _age(Invoice, invoice.pk)
    services.payment_request_delete(pr=pr, actor=maker)
    invoice.refresh_from_db()
    assert invoice.updated_at > past  # free again


def test_a_request_the_service_saved_is_not_rewritten_by_the_hook(maker):
    """The hook bumps only what this transaction has not saved: the service's own `updated_at` stays."""
    pr = make_pr(maker=maker)
    saved = services.payment_request_update(pr=pr, actor=maker, name="Tên mới")
    assert PaymentRequest.objects.get(pk=pr.pk).updated_at == saved.updated_at


def test_reading_a_notification_bumps_it(maker, approver, client_for):
    from payments.notifications.models import Notification

    make_pr(maker=maker, steps=[("anyof", [approver])], request=True)
    notification = Notification.objects.filter(recipient=approver, in_app=True).first()
    assert notification is not None
    past = _age(Notification, notification.pk)
    client = client_for(approver)
    assert client.post(f"/api/notifications/{notification.pk}/read/").status_code == 200
    notification.refresh_from_db()
    assert notification.updated_at > past
    since = (past + timedelta(seconds=1)).isoformat()
    listed = client.get("/api/notifications/", {"updated_since": since}).json()["results"]
    assert notification.pk in [row["id"] for row in listed]


# --- query counts ------------------------------------------------------------------------------------------------
# (list, caller) → queries of a filtered list: the token, the count, the page (payment requests and invoices in
# cursor mode: its keys, then its rows). Unfiltered, the lists that opt in to estimated counts take one more: the
# planner's estimate decides whether the count is exact (issue 22).
PINNED = {PRS: (3, 4), INVOICES: (3, 4), "/api/payment-methods/": (3, 3)}
ESTIMATED = {PRS, INVOICES}  # the lists that opt in to estimated counts (`estimated_count` on the view)


@pytest.mark.parametrize("url", list(PINNED))
def test_list_queries_are_pinned(maker, finance, client_for, django_assert_num_queries, url):
    for _ in range(6):
        make_pr(maker=maker)
        make_invoice()
        PaymentMethodFactory()
    client = client_for(maker if url == PRS else finance)
    client.get(url)  # warm: the declared-parameter map, the caller's permissions
    since = (timezone.now() - timedelta(days=1)).isoformat()
    page, cursor = PINNED[url]
    estimate = 1 if url in ESTIMATED else 0
    with django_assert_num_queries(page + estimate):
        assert client.get(url).status_code == 200
    with django_assert_num_queries(page):
        response = client.get(url, {"updated_since": since, "ordering": "-updated_at"})
        assert len(response.json()["results"]) == 6
    with django_assert_num_queries(cursor + estimate):
        body = client.get(url, {"pagination": "cursor", "page_size": 4}).json()
        assert len(body["results"]) == 4
    with django_assert_num_queries(cursor + estimate):
        assert len(client.get(url, {"cursor": body["next_cursor"], "page_size": 4}).json()["results"]) == 2


@pytest.mark.parametrize("url", [PRS, INVOICES, "/api/payment-methods/"])
def test_list_query_count_does_not_grow_with_the_page_in_cursor_mode(maker, finance, client_for, url):
    for _ in range(6):
        make_pr(maker=maker)
        make_invoice()
        PaymentMethodFactory()
    client = client_for(finance)
    client.get(url)

    def count(size: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url, {"pagination": "cursor", "page_size": size})
            assert len(response.json()["results"]) == size, response.content
        return len(ctx.captured_queries)

    assert count(1) == count(5)


def test_roles_team_members_and_service_account_tokens_bump_what_their_lists_show(owner):
    from accounts import services as accounts
    from accounts.models import Role, Team, User

    team, other = Team.objects.create(name="Kế toán"), Team.objects.create(name="Mua hàng")
    user = accounts.user_create(email="ke-toan@example.com", name="Kế toán", team=team, actor=owner)
    role = Role.objects.create(name="Xem hoá đơn")

    def bumped(*rows: Any, action: Any) -> None:
        pasts = [_age(type(row), row.pk) for row in rows]
        action()
        for row, past in zip(rows, pasts, strict=True):
            row.refresh_from_db()
            assert row.updated_at > past, row

    bumped(user, action=lambda: accounts.role_assign(user=user, role=role, actor=owner))
    bumped(user, action=lambda: accounts.role_revoke(user=user, role=role, actor=owner))
    bumped(team, other, action=lambda: accounts.user_update(user=user, team=other, actor=owner))
    robot = User.objects.create(email="robot@example.com", name="Robot", is_service_account=True)
    bumped(robot, action=lambda: accounts.api_token_create(user=robot))
    token = robot.api_tokens.get()
    bumped(robot, action=lambda: accounts.api_token_revoke(token=token))
