"""The fuzzer's database invariants (tests/api/consistency.py) hold on real data and catch each kind
of breakage they claim to: a checker that cannot fail would let the fuzzer pass anything."""

from __future__ import annotations

import pytest
from django.db import connection

from approvals.models import Approval
from payments import services
from tests.api import consistency
from tests.approvals.factories import approver_users
from tests.payments.factories import make_invoice, make_pr


@pytest.fixture
def prs(maker, approver):
    draft = make_pr(maker=maker, steps=[("anyof", [approver])], invoices=[make_invoice()])
    pending = make_pr(maker=maker, steps=[("anyof", [approver]), ("allof", [approver])], request=True)
    return draft, pending


def _sql(statement: str, *params) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_real_data_is_consistent(prs):
    assert consistency.problems() == []


def test_seeded_fuzz_data_set_is_consistent(db):
    from tests.api.dataset import seed_dataset

    seed_dataset()
    assert consistency.problems() == []


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (
            "UPDATE approval SET current_step = 1 WHERE id = (SELECT approval_id FROM pr WHERE id = %s)",
            "a draft with approvals or a current step",
        ),
        ("UPDATE pr SET status = 'approved', payee_bank_account = '1' WHERE id = %s", "approved with steps left"),
        (
            "UPDATE invoices SET status = 'completed' WHERE id IN (SELECT invoice_id FROM pr_invoice WHERE pr_id = %s)",
            "that is draft",
        ),
        (
            "DELETE FROM approval_step_users WHERE step_id IN (SELECT s.id FROM approval_steps s"
            " JOIN pr p ON p.approval_id = s.approval_id WHERE p.id = %s)",
            "has no approvers",
        ),
    ],
)
def test_each_broken_invariant_is_reported(prs, breakage, expected):
    draft, _pending = prs
    _sql(breakage, draft.pk)
    problems = consistency.problems()
    assert any(expected in p for p in problems), problems


def test_a_pending_chain_that_skipped_a_step_is_reported(prs):
    _draft, pending = prs
    Approval.objects.filter(pr=pending).update(current_step=2)  # step 1 never approved
    assert any("steps before are not all done" in p for p in consistency.problems())


def test_a_free_invoice_marked_completed_is_reported(db):
    invoice = make_invoice(status="completed")
    assert f"invoice {invoice.pk} completed without a PR" in consistency.problems()


@pytest.mark.django_db(transaction=True)
def test_a_tampered_audit_entry_is_reported(prs):
    # Only a superuser (or the tables' owner) can switch the guard off: not the app's role.
    from tests.audit.helpers import superuser_sql

    superuser_sql(
        "ALTER TABLE audit DISABLE TRIGGER USER;"
        " UPDATE audit SET actor = 'someone else' WHERE id = (SELECT max(id) FROM audit);"
        " ALTER TABLE audit ENABLE TRIGGER USER"
    )
    assert any("audit entry" in p for p in consistency.problems())


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (
            "INSERT INTO pr_preparers (pr_id, user_id, first_action, added_at)"
            " SELECT p.id, r.acted_by_id, 'x', now()"
            " FROM approval_records r JOIN pr p ON p.approval_id = r.approval_id WHERE p.id = %s",
            "approved by or for preparer",
        ),
        ("UPDATE pr SET amount = amount + 1 WHERE id = %s", "is not its invoices' total"),
        (
            "UPDATE invoices SET payment_bank_account = '999' WHERE id IN (SELECT invoice_id FROM pr_invoice"
            " WHERE pr_id = %s)",
            "the request froze",
        ),
    ],
)
def test_each_broken_payment_control_is_reported(maker, breakage, expected):
    a, b = approver_users(2)
    pr = make_pr(
        maker=maker, steps=[("anyof", [a]), ("anyof", [b])], type="direct", invoices=[make_invoice()], request=True
    )
    services.payment_request_approve(pr=pr, actor=a)
    assert consistency.problems() == []
    _sql(breakage, pr.pk)
    problems = consistency.problems()
    assert any(expected in p for p in problems), problems
