"""A write the database cannot store (disk full, quota) rolls back cleanly and says so.

Two ways to cause it for real:

- always: a test-only constraint trigger on the real `approval_records` table raises
  SQLSTATE 53100 `disk_full` at COMMIT — exactly where a full WAL disk surfaces — after the
  approve has written its record, advanced the chain, set the PR status and its audit rows;
- when this machine lets root mount a tmpfs: a real 1 MB tablespace under a throwaway server
  (tests/reliability/test_tablespace_full.py).

Either way: 503 `STORAGE_FULL` in the API's error shape, an admin message in the admin, and
not one row of the transaction left in the database.
"""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.db import connection

from acountee.db.roles import owner_connection
from approvals.models import Approval, ApprovalRecord
from audit.models import AuditEntry
from payments.models import PaymentRequest
from tests.reliability.conftest import approve_url, error_code

TRIGGER_SQL = """
CREATE FUNCTION acountee_test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'could not extend file "base/1/2": No space left on device' USING ERRCODE = 'disk_full';
END $$;
CREATE CONSTRAINT TRIGGER acountee_test_disk_full AFTER INSERT ON approval_records
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION acountee_test_disk_full();
"""
DROP_SQL = """
DROP TRIGGER IF EXISTS acountee_test_disk_full ON approval_records;
DROP FUNCTION IF EXISTS acountee_test_disk_full();
"""


@pytest.fixture
def disk_full_on_commit(transactional_db):
    # DDL on a business table: the owner role's (the application's role may not add triggers).
    with owner_connection(connection), connection.cursor() as cursor:
        cursor.execute(TRIGGER_SQL)
    yield
    with owner_connection(connection), connection.cursor() as cursor:
        cursor.execute(DROP_SQL)


def _snapshot(pr) -> tuple:
    return (
        PaymentRequest.objects.get(pk=pr.pk).status,
        Approval.objects.get(pr=pr).current_step,
        ApprovalRecord.objects.filter(approval__pr=pr).count(),
        AuditEntry.objects.count(),
    )


def test_disk_full_at_commit_answers_503_storage_full_and_writes_nothing(pending_pr, client_for, disk_full_on_commit):
    pr, approver = pending_pr
    client = client_for(approver)
    before = _snapshot(pr)
    response = client.post(approve_url(pr), {}, format="json")
    assert response.status_code == 503, response.content
    assert error_code(response) == "STORAGE_FULL"
    assert set(response.json()["error"]) == {"code", "message", "details"}
    assert response["Retry-After"]
    assert _snapshot(pr) == before == ("pending", 1, 0, before[3])

    with owner_connection(connection), connection.cursor() as cursor:
        cursor.execute(DROP_SQL)
    assert client.post(approve_url(pr), {}, format="json").status_code == 200
    assert PaymentRequest.objects.get(pk=pr.pk).status == "approved"


def test_disk_full_in_the_admin_is_a_message_and_writes_nothing(pending_pr, client, disk_full_on_commit):
    """The admin's approve action goes through ServiceCallMixin: the refusal is a message."""
    pr, approver = pending_pr
    client.force_login(approver)
    before = _snapshot(pr)
    response = client.post(
        "/admin/payments/paymentrequest/",
        {"action": "approve_selected", "_selected_action": [pr.pk]},
    )
    assert response.status_code in (200, 302)
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("no space left" in m.lower() for m in messages), messages
    assert _snapshot(pr) == before
