"""The last rejection lives on the payment request (reason, when, by whom): set by the rejection,
cleared when approval is requested again, carried forward from the audit log by payments.0007."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from acountee.db.roles import owner_connection
from acountee.errors import ValidationFailed
from audit.models import AuditEntry
from payments import services
from payments.models import PaymentRequest
from tests.approvals.factories import approver_users
from tests.payments.factories import make_pr


def _rejection(pr: PaymentRequest) -> tuple:
    pr = PaymentRequest.objects.get(pk=pr.pk)
    return pr.rejection_reason, pr.rejected_by_id, pr.rejected_at is not None


@pytest.mark.django_db
def test_reject_stores_the_reason_on_the_request_and_a_new_request_clears_it(maker):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    assert _rejection(pr) == ("", None, False)

    services.payment_request_reject(pr=pr, actor=a, reason="  Thiếu chứng từ gốc ")
    assert _rejection(pr) == ("Thiếu chứng từ gốc", a.pk, True)
    entry = AuditEntry.objects.get(table_name="pr", record_id=str(pr.pk), action="reject")
    assert entry.metadata["reason"] == "Thiếu chứng từ gốc"  # the log keeps every rejection

    services.payment_request_request_approval(pr=pr, actor=maker)
    assert _rejection(pr) == ("", None, False)
    services.payment_request_recall(pr=pr, actor=maker)
    assert _rejection(pr) == ("", None, False)  # a recalled draft answers no rejection


@pytest.mark.django_db
def test_a_refused_rejection_leaves_the_row_alone(maker):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    with pytest.raises(ValidationFailed):
        services.payment_request_reject(pr=pr, actor=a, reason="   ")
    assert _rejection(pr) == ("", None, False)


def _remigrate() -> None:
    """Unapply payments.0007 (its columns go), then apply everything again."""
    with owner_connection(connection):
        executor = MigrationExecutor(connection)
        leaves = executor.loader.graph.leaf_nodes()
        executor.migrate([("payments", "0006_payment_controls")])
        executor.loader.build_graph()
        executor.migrate(leaves)


@pytest.mark.django_db(transaction=True)
def test_migration_fills_the_rejection_of_drafts_from_the_audit_log(maker):
    a, b = approver_users(2)
    rejected = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    services.payment_request_reject(pr=rejected, actor=a, reason="Sai số tiền")
    twice = make_pr(maker=maker, steps=[("anyof", [a, b])], request=True)
    services.payment_request_reject(pr=twice, actor=a, reason="Lần một")
    services.payment_request_request_approval(pr=twice, actor=maker)
    services.payment_request_reject(pr=twice, actor=b, reason="Lần hai")
    resubmitted = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    services.payment_request_reject(pr=resubmitted, actor=a, reason="Đã sửa")
    services.payment_request_request_approval(pr=resubmitted, actor=maker)
    recalled = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    services.payment_request_reject(pr=recalled, actor=a, reason="Cũ")
    services.payment_request_request_approval(pr=recalled, actor=maker)
    services.payment_request_recall(pr=recalled, actor=maker)
    stored = {pr.pk: _rejection(pr) for pr in (rejected, twice, resubmitted, recalled)}

    _remigrate()

    assert _rejection(rejected) == ("Sai số tiền", a.pk, True)
    assert _rejection(twice) == ("Lần hai", b.pk, True)
    assert _rejection(resubmitted) == ("", None, False)
    assert _rejection(recalled) == ("", None, False)
    # What the services stored is what the migration derives from the log.
    assert stored == {pr.pk: _rejection(pr) for pr in (rejected, twice, resubmitted, recalled)}
