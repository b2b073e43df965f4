"""A retry while the first request still runs gets 409, for real: the first request runs in
another thread on its own connection and is held on a row lock that a third connection owns,
so the claim is committed and visible while the request is provably unfinished."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction

from accounts.models import Team
from accounts.requestguard.models import IdempotencyKey

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_for(condition, what: str, timeout: float = 20.0) -> None:
    """Polls until `condition()` holds (a deadline against hanging, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def _blocked_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_a_concurrent_retry_gets_409_and_the_first_answer_is_replayed_afterwards(owner, client_for):
    team = Team.objects.create(name="Trước")
    url = f"/api/teams/{team.pk}/"
    first_client, retry_client = client_for(owner), client_for(owner)
    holding, release = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def hold_the_row() -> None:
        try:
            with transaction.atomic():
                Team.objects.select_for_update().get(pk=team.pk)
                holding.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    def first_request() -> None:
        try:
            results["first"] = first_client.patch(url, {"name": "Sau"}, format="json", HTTP_IDEMPOTENCY_KEY="race")
        except Exception as exc:  # surfaced by the assertion below
            results["first"] = exc
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    assert holding.wait(timeout=20)
    worker = threading.Thread(target=first_request)
    worker.start()
    try:
        _wait_for(lambda: IdempotencyKey.objects.filter(key="race").exists(), "the claim")
        _wait_for(_blocked_on_a_lock, "the first request to wait on the row lock")
        assert "first" not in results

        retry = retry_client.patch(url, {"name": "Sau"}, format="json", HTTP_IDEMPOTENCY_KEY="race")
        assert retry.status_code == 409, retry.content
        assert retry.json()["error"]["code"] == "IDEMPOTENCY_KEY_IN_PROGRESS"
        assert retry["Retry-After"]
        other = retry_client.patch(url, {"name": "Khác"}, format="json", HTTP_IDEMPOTENCY_KEY="race")
        assert other.status_code == 422 and other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    finally:
        release.set()
        holder.join(timeout=30)
        worker.join(timeout=30)

    first = results["first"]
    assert not isinstance(first, Exception), first
    assert first.status_code == 200, first.content
    replay = retry_client.patch(url, {"name": "Sau"}, format="json", HTTP_IDEMPOTENCY_KEY="race")
    assert replay.status_code == 200 and replay.content == first.content and replay["Idempotent-Replayed"] == "true"
    assert Team.objects.get(pk=team.pk).name == "Sau"
