"""Pool exhaustion, a row lock held elsewhere, and a forced deadlock — all for real against
PostgreSQL (docs/operations.md, issue 11). Nothing is mocked: connections are really held, rows really
locked from another connection, and PostgreSQL itself detects the deadlock.

The time bounds asserted are the behaviour under test (a request waits for the configured
timeout, then answers instead of hanging), with a generous margin for a loaded machine."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections

from approvals.models import Approval, ApprovalRecord
from audit.models import AuditEntry
from payments.models import PaymentRequest
from tests.accounts.factories import UserFactory
from tests.reliability.conftest import approve_url, error_code, pool_settings

SLACK = 5.0  # a loaded 2-core machine; the point is "answers", not "answers fast"


def _audit_count() -> int:
    return AuditEntry.objects.count()


@pytest.mark.django_db(transaction=True)
def test_pool_exhausted_waits_for_the_pool_timeout_then_503(client_for):
    client = client_for(UserFactory(roles=["finance"]))
    with pool_settings(max_size=2, timeout=1.5) as pool:
        held = [pool.getconn() for _ in range(2)]
        try:
            started = time.monotonic()
            response = client.get("/api/me/")
            waited = time.monotonic() - started
            connection.close()
            ready = client.get("/readyz")  # this process cannot serve: not ready
        finally:
            for conn in held:
                pool.putconn(conn)
        assert response.status_code == 503, response.content
        assert error_code(response) == "POOL_EXHAUSTED"
        assert response["Retry-After"]
        assert 1.5 <= waited < 1.5 + SLACK  # it waited the whole pool timeout, then answered
        assert ready.status_code == 503
        assert ready.json()["code"] == "POOL_EXHAUSTED"
        connection.close()
        # Connections are back: the next request is served.
        assert client.get("/api/me/").status_code == 200
    print(f"\npool exhausted: 503 POOL_EXHAUSTED after {waited:.3f} s (DB_POOL_TIMEOUT=1.5)")


@pytest.mark.django_db(transaction=True)
def test_pool_exhausted_request_is_served_when_a_connection_frees_up_in_time(client_for):
    client = client_for(UserFactory(roles=["finance"]))
    with pool_settings(max_size=1, timeout=5.0) as pool:
        held = pool.getconn()
        threading.Timer(0.5, pool.putconn, args=(held,)).start()
        response = client.get("/api/me/")
    assert response.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_row_locked_elsewhere_answers_409_busy_after_lock_timeout(pending_pr, client_for, raw_connection):
    pr, approver = pending_pr
    client = client_for(approver)
    audit_before = _audit_count()
    other = raw_connection()
    with pool_settings(lock_timeout_ms=1000):
        other.execute("SELECT id FROM pr WHERE id = %s FOR UPDATE", [pr.pk])  # opens a transaction
        started = time.monotonic()
        response = client.post(approve_url(pr), {}, format="json")
        waited = time.monotonic() - started
        other.rollback()
    assert response.status_code == 409, response.content
    assert error_code(response) == "BUSY"
    assert response["Retry-After"]
    assert 1.0 <= waited < 1.0 + SLACK
    # Nothing half-written; once the lock is gone the same request succeeds.
    assert not ApprovalRecord.objects.filter(approval__pr=pr).exists()
    assert PaymentRequest.objects.get(pk=pr.pk).status == "pending"
    assert _audit_count() == audit_before
    assert client.post(approve_url(pr), {}, format="json").status_code == 200
    print(f"\nrow locked elsewhere: 409 BUSY after {waited:.3f} s (lock_timeout=1 s)")


def _wait_until_blocked(raw, application_name: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = raw.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = %s AND wait_event_type = 'Lock'",
            [application_name],
        ).fetchone()
        if row[0]:
            return
        time.sleep(0.02)
    raise AssertionError("the API request never waited on the lock")


@pytest.mark.django_db(transaction=True)
def test_deadlock_is_a_clear_409_and_nothing_is_half_written(pending_pr, client_for, raw_connection):
    """The API's approve locks PR → approval (docs/concurrency.md). Raw SQL elsewhere locks
    approval → PR. PostgreSQL detects the cycle and aborts the API's transaction (the raw side
    sets a long deadlock_timeout so it is never the one checked first): the API answers
    409 CONFLICT_RETRY, the other transaction commits, and the approval is not half-written."""
    pr, approver = pending_pr
    client = client_for(approver)
    audit_before = _audit_count()
    other = raw_connection()
    probe = raw_connection()
    probe.autocommit = True
    superuser = probe.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]
    barrier = threading.Barrier(2)
    result: dict[str, object] = {}

    def approve() -> None:
        try:
            barrier.wait(timeout=10)
            started = time.monotonic()
            response = client.post(approve_url(pr), {}, format="json")
            result.update(
                status=response.status_code,
                code=error_code(response),
                seconds=time.monotonic() - started,
                retry_after=response.get("Retry-After"),
            )
        finally:
            connections.close_all()

    if superuser:
        other.execute("SET deadlock_timeout = '30s'")
    other.execute("SELECT id FROM approval WHERE id = %s FOR UPDATE", [pr.approval_id])  # approval first…
    thread = threading.Thread(target=approve)
    thread.start()
    barrier.wait(timeout=10)
    _wait_until_blocked(probe, "acountee")  # the API holds the PR and waits for the approval
    other.execute("UPDATE pr SET name = name || ' (ops)' WHERE id = %s", [pr.pk])  # …then the PR: a cycle
    other.commit()
    thread.join(timeout=60)

    assert result["status"] == 409, result
    assert result["code"] == "CONFLICT_RETRY"
    assert result["retry_after"]
    # The other transaction committed whole; the API's approval left nothing behind.
    refreshed = PaymentRequest.objects.get(pk=pr.pk)
    assert refreshed.name.endswith(" (ops)")
    assert refreshed.status == "pending"
    assert Approval.objects.get(pr=pr).current_step == 1
    assert not ApprovalRecord.objects.filter(approval__pr=pr).exists()
    assert not AuditEntry.objects.filter(action="approve", record_id=str(pr.pk)).exists()
    assert _audit_count() == audit_before + 1  # only the raw UPDATE's row-level entry
    # The client's retry goes through.
    assert client.post(approve_url(pr), {}, format="json").status_code == 200
    print(f"\ndeadlock: 409 CONFLICT_RETRY after {result['seconds']:.3f} s (deadlock_timeout 1 s)")


@pytest.mark.django_db(transaction=True)
def test_busy_answer_is_not_replayed_for_the_same_idempotency_key(pending_pr, client_for, raw_connection):
    """A 409 BUSY says "try again": retrying with the same Idempotency-Key must run the
    request again, not replay the BUSY for the key's lifetime (docs/api-guard.md)."""
    pr, approver = pending_pr
    client = client_for(approver)
    other = raw_connection()
    with pool_settings(lock_timeout_ms=300):
        other.execute("SELECT id FROM pr WHERE id = %s FOR UPDATE", [pr.pk])
        first = client.post(approve_url(pr), {}, format="json", HTTP_IDEMPOTENCY_KEY="approve-once-1")
        other.rollback()
        retry = client.post(approve_url(pr), {}, format="json", HTTP_IDEMPOTENCY_KEY="approve-once-1")
    assert (first.status_code, error_code(first)) == (409, "BUSY")
    assert retry.status_code == 200, retry.content
    assert not retry.has_header("Idempotent-Replayed")
    assert PaymentRequest.objects.get(pk=pr.pk).status == "approved"
