"""The live stream end to end (docs/live.md): a real uvicorn process serving `acountee.asgi:application`
against the test database; changes committed here, in the test's own connection, reach the streams open
there — and nothing of a rolled-back one, nothing a user may not see, nothing to an anonymous caller."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, transaction

from payments import services
from tests.accounts.factories import UserFactory
from tests.approvals.factories import approver_users
from tests.live.server import EventStream, asgi_server, session_cookie
from tests.payments.factories import make_pr

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture(scope="module")
def served(django_db_setup: Any, django_db_blocker: Any) -> Iterator[tuple[str, Any]]:
    with django_db_blocker.unblock(), asgi_server() as (base, process):
        yield base, process


@pytest.fixture
def server(served: tuple[str, Any]) -> str:
    return served[0]


@pytest.fixture
def open_stream(server: str) -> Iterator[Any]:
    streams: list[EventStream] = []

    def open_(user: Any) -> EventStream:
        stream = EventStream(server, session_cookie(user))
        assert stream.status == 200
        assert stream.response.getheader("Content-Type", "").startswith("text/event-stream")
        assert stream.connected(), "the stream never said it was connected"
        streams.append(stream)
        return stream

    yield open_
    for stream in streams:
        stream.close()


def test_a_committed_approval_arrives_a_rolled_back_one_does_not(open_stream: Any, maker: Any) -> None:
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    watcher = open_stream(maker)

    with pytest.raises(RuntimeError), transaction.atomic():
        services.payment_request_approve(pr=pr, actor=a)
        raise RuntimeError("rolled back")
    assert watcher.next(timeout=2) is None  # heartbeats only

    services.payment_request_approve(pr=pr, actor=a)
    events = [watcher.next(timeout=5), watcher.next(timeout=5)]
    assert ("pr", {"pr": [pr.pk]}) in events  # the request changed
    assert ("unread", {}) in events  # the maker was told: their bell


def test_each_user_hears_only_what_concerns_them(open_stream: Any, maker: Any, outsider: Any) -> None:
    a, b = approver_users(2)
    pr = make_pr(maker=maker, steps=[("anyof", [a]), ("anyof", [b])], request=True)
    finance_watcher = open_stream(maker)  # finance: sees every request
    outsider_watcher = open_stream(outsider)  # no role: sees none of these
    b_watcher = open_stream(b)  # bod sees every request; b is told when the first step is done

    services.payment_request_approve(pr=pr, actor=a)
    assert finance_watcher.next(timeout=5) == ("pr", {"pr": [pr.pk]})
    got_b = [b_watcher.next(timeout=5), b_watcher.next(timeout=5)]
    assert ("pr", {"pr": [pr.pk]}) in got_b
    assert ("unread", {}) in got_b  # b's notification: step 2 awaits them
    assert finance_watcher.next(timeout=1) is None  # the maker is not told of a step: no unread event
    assert outsider_watcher.next(timeout=1) is None


def test_a_user_scoped_to_their_own_requests_hears_of_theirs_only(open_stream: Any, maker: Any) -> None:
    """Without `payments.view_paymentrequest` one sees the requests one makes or whose chain names one
    (payments.selectors.payment_requests_visible_to): the stream filters with that selector."""
    (a,) = approver_users(1)
    named = UserFactory(roles=[])  # no role: sees a request only where its chain names them
    mine = make_pr(maker=maker, steps=[("anyof", [a]), ("anyof", [named])], request=True)
    other = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    watcher = open_stream(named)

    with transaction.atomic():
        services.payment_requests_bulk_approve(ids=[mine.pk, other.pk], actor=a)
    kind, data = watcher.next(timeout=5) or ("", {})
    assert (kind, data) == ("pr", {"pr": [mine.pk]})


def test_anonymous_callers_are_refused(server: str) -> None:
    stream = EventStream(server, None)
    try:
        assert stream.status == 401
        body = json.loads(stream.response.read())
        assert body["error"]["code"] == "NOT_AUTHENTICATED"
    finally:
        stream.close()


def test_one_listening_connection_serves_every_stream(open_stream: Any, maker: Any, owner: Any) -> None:
    for user in (maker, owner, maker, owner):
        open_stream(user)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'acountee-live' AND datname = %s",
            [connection.settings_dict["NAME"]],
        )
        assert cursor.fetchone()[0] == 1


def test_the_listener_comes_back_after_losing_its_connection(open_stream: Any, maker: Any) -> None:
    """The database drops the LISTEN connection (as in an outage or a restart): the server's listener reconnects
    by itself, tells every stream to resync (what was said meanwhile is lost), and events flow again."""
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    watcher = open_stream(maker)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'acountee-live'"
        )
        assert [row[0] for row in cursor.fetchall()] == [True]
    assert watcher.next(timeout=10) == ("resync", {})

    services.payment_request_approve(pr=pr, actor=a)
    assert watcher.next(timeout=5) == ("pr", {"pr": [pr.pk]})


def test_a_stream_ends_after_its_time_asking_to_be_reopened_at_once(maker: Any) -> None:
    with asgi_server(extra_env={"LIVE_STREAM_MAX_SECONDS": "2"}) as (base, _process):
        stream = EventStream(base, session_cookie(maker))
        try:
            assert stream.connected()
            assert stream.ended.wait(10), "the stream did not end"
            assert "retry: 250" in stream.lines
        finally:
            stream.close()


def test_open_streams_hold_no_thread(open_stream: Any, served: tuple[str, Any], maker: Any) -> None:
    """40 open pages cost the server no thread each (acountee/asgi.py's StreamASGIHandler): a pin against an
    upgrade of Django or asgiref bringing the per-request thread back."""
    import psutil

    server_process = psutil.Process(served[1].pid)
    open_stream(maker)
    baseline = server_process.num_threads()
    for _ in range(40):
        open_stream(maker)
    assert server_process.num_threads() <= baseline + 6  # the loop's small pool may grow; never one per stream
