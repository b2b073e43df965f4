"""The approval timing facts (docs/approvals.md, "Timing"): set by the services in the transaction of
every transition — request, step advance, completion, retraction, reject, recall, re-request, bulk
approval, a substitute's approval — always in step with the chain's current step; the migration's
backfill gives the same facts from the audit log and the records; and the readers that use them
(oldest pending approvals, the approver's queue)."""

from __future__ import annotations

from datetime import datetime, timedelta
from importlib import import_module
from itertools import pairwise
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from approvals import services as approval_services
from approvals.models import Approval, ApprovalRecord, ApprovalStep
from audit.models import AuditEntry
from payments import selectors, services
from payments.models import PaymentRequest
from payments.reports import queries
from tests.approvals.factories import approver_users
from tests.payments.factories import make_pr

pytestmark = pytest.mark.django_db


def chain(pr: Any) -> Approval:
    return Approval.objects.get(pr=pr)


def steps(pr: Any) -> list[tuple[int, datetime | None, datetime | None]]:
    return list(
        ApprovalStep.objects.filter(approval__pr=pr)
        .order_by("number")
        .values_list("number", "started_at", "completed_at")
    )


def approved_at(pr: Any, approver: Any) -> datetime:
    return ApprovalRecord.objects.get(approval__pr=pr, acted_by=approver).approved_at


def assert_consistent(pr: Any) -> None:
    """The facts agree with the state: a draft's chain is untimed; a pending chain has exactly one open
    step, its current one, after its completed ones; an approved chain completed with its last step."""
    pr = PaymentRequest.objects.get(pk=pr.pk)
    approval = chain(pr)
    timed = steps(pr)
    if pr.status == "draft":
        assert approval.requested_at is None and approval.completed_at is None
        assert [(s, c) for _n, s, c in timed] == [(None, None)] * len(timed)
        return
    assert approval.requested_at is not None
    assert timed[0][1] == approval.requested_at
    for (_n, _s, done), (_m, started, _c) in pairwise(timed):
        assert started == done  # a step starts when the one before it completes
    if pr.status == "pending":
        assert approval.completed_at is None
        open_steps = [n for n, s, c in timed if s is not None and c is None]
        assert open_steps == [approval.current_step]
        assert all(c is not None for n, _s, c in timed if n < approval.current_step)
        assert all(s is None and c is None for n, s, c in timed if n > approval.current_step)
    else:
        assert approval.completed_at == timed[-1][2] and all(c is not None for _n, _s, c in timed)


def test_request_starts_the_cycle_and_the_first_step(maker):
    a, b = approver_users(2)
    pr = make_pr(maker=maker, steps=[("anyof", [a]), ("anyof", [b])])
    assert_consistent(pr)
    before = timezone.now()
    services.payment_request_request_approval(pr=pr, actor=maker)
    approval = chain(pr)
    assert before <= approval.requested_at <= timezone.now()
    assert approval.completed_at is None
    assert steps(pr) == [(1, approval.requested_at, None), (2, None, None)]
    assert_consistent(pr)


def test_step_advance_and_completion_take_the_time_of_the_approval_that_did_it(maker):
    a, b, c, d = approver_users(4)
    pr = make_pr(maker=maker, steps=[("anyof", [a, b]), ("allof", [c, d])], request=True)
    requested = chain(pr).requested_at
    services.payment_request_approve(pr=pr, actor=b)
    first = approved_at(pr, b)
    assert steps(pr) == [(1, requested, first), (2, first, None)]
    assert_consistent(pr)
    services.payment_request_approve(pr=pr, actor=c)  # allof: one place of two filled, not complete
    assert steps(pr) == [(1, requested, first), (2, first, None)]
    assert chain(pr).completed_at is None
    services.payment_request_approve(pr=pr, actor=d)
    last = approved_at(pr, d)
    assert steps(pr) == [(1, requested, first), (2, first, last)]
    assert chain(pr).completed_at == last
    assert_consistent(pr)


@pytest.mark.parametrize("back", ["reject", "recall"])
def test_reject_or_recall_clears_the_cycle_and_a_new_request_starts_another(maker, back):
    a, b, c = approver_users(3)
    pr = make_pr(maker=maker, steps=[("anyof", [a]), ("allof", [b, c])], request=True)
    old = chain(pr).requested_at
    services.payment_request_approve(pr=pr, actor=a)
    services.payment_request_approve(pr=pr, actor=b)
    if back == "reject":
        services.payment_request_reject(pr=pr, actor=c, reason="Thiếu chứng từ")
    else:
        services.payment_request_recall(pr=pr, actor=maker)
    assert (chain(pr).requested_at, chain(pr).completed_at) == (None, None)
    assert steps(pr) == [(1, None, None), (2, None, None)]
    assert_consistent(pr)
    services.payment_request_request_approval(pr=pr, actor=maker)
    new = chain(pr).requested_at
    assert new > old
    assert steps(pr) == [(1, new, None), (2, None, None)]
    assert_consistent(pr)


def test_retracting_on_the_open_step_changes_no_time(maker):
    a, b = approver_users(2)
    pr = make_pr(maker=maker, steps=[("allof", [a, b])], request=True)
    timed = steps(pr)
    services.payment_request_approve(pr=pr, actor=a)
    services.payment_request_retract(pr=pr, actor=a)
    assert steps(pr) == timed
    assert_consistent(pr)


def test_retracting_a_completed_step_reopens_it_and_unstarts_the_next(maker):
    a, b, c = approver_users(3)
    pr = make_pr(maker=maker, steps=[("anyof", [a]), ("allof", [b, c])], request=True)
    requested = chain(pr).requested_at
    services.payment_request_approve(pr=pr, actor=a)
    services.payment_request_retract(pr=pr, actor=a)
    assert steps(pr) == [(1, requested, None), (2, None, None)]
    assert_consistent(pr)
    services.payment_request_approve(pr=pr, actor=a)
    again = approved_at(pr, a)
    assert steps(pr) == [(1, requested, again), (2, again, None)]
    assert_consistent(pr)


def test_retracting_the_last_approval_reopens_the_chain(maker):
    a, b = approver_users(2)
    pr = make_pr(maker=maker, steps=[("anyof", [a]), ("anyof", [b])], request=True)
    services.payment_request_approve(pr=pr, actor=a)
    first = approved_at(pr, a)
    services.payment_request_approve(pr=pr, actor=b)
    assert chain(pr).completed_at == approved_at(pr, b)
    services.payment_request_retract(pr=pr, actor=b)
    assert chain(pr).completed_at is None
    assert steps(pr)[1] == (2, first, None)
    assert_consistent(pr)
    services.payment_request_approve(pr=pr, actor=b)
    assert chain(pr).completed_at == approved_at(pr, b)
    assert_consistent(pr)


def test_a_substitutes_approval_completes_the_step(maker):
    a, b, sub = approver_users(3)
    today = timezone.localdate()
    approval_services.approval_delegation_create(actor=a, approver=a, substitute=sub, start_date=today, end_date=today)
    pr = make_pr(maker=maker, steps=[("anyof", [a]), ("anyof", [b])], request=True)
    services.payment_request_approve(pr=pr, actor=sub)
    done = approved_at(pr, sub)
    assert steps(pr)[0][2] == done and steps(pr)[1][1] == done
    assert_consistent(pr)


def test_bulk_approval_times_every_chain_it_moves(maker):
    a, b = approver_users(2)
    two_steps = make_pr(maker=maker, steps=[("anyof", [a]), ("anyof", [b])], request=True)
    one_step = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    shared = make_pr(maker=maker, steps=[("allof", [a, b])], request=True)
    result = services.payment_requests_bulk_approve(ids=[two_steps.pk, one_step.pk, shared.pk], actor=a)
    assert sorted(result.approved) == sorted([two_steps.pk, one_step.pk, shared.pk])
    assert steps(two_steps)[0][2] == approved_at(two_steps, a) == steps(two_steps)[1][1]
    assert chain(one_step).completed_at == approved_at(one_step, a)
    assert steps(shared)[0][2] is None  # allof: b's place is still open
    for pr in (two_steps, one_step, shared):
        assert_consistent(pr)


# --- the backfill of migration payments 0011 ---------------------------------------------------------------
def test_backfill_gives_the_facts_the_services_wrote(maker, finance):
    a, b, c = approver_users(3)
    pending = make_pr(maker=maker, steps=[("anyof", [a]), ("allof", [b, c])], request=True)
    services.payment_request_approve(pr=pending, actor=a)
    services.payment_request_approve(pr=pending, actor=b)
    completed = make_pr(maker=maker, steps=[("anyof", [a]), ("anyof", [b])], request=True)
    services.payment_request_approve(pr=completed, actor=a)
    services.payment_request_approve(pr=completed, actor=b)
    services.payment_request_complete(pr=completed, actor=finance, payment_reference="FT1")
    rerequested = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    services.payment_request_recall(pr=rerequested, actor=maker)
    services.payment_request_request_approval(pr=rerequested, actor=maker)
    rejected = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    services.payment_request_reject(pr=rejected, actor=a, reason="x")
    prs = [pending, completed, rerequested, rejected]
    written = {pr.pk: (chain(pr).completed_at, steps(pr)) for pr in prs}
    Approval.objects.update(requested_at=None, completed_at=None)
    ApprovalStep.objects.update(started_at=None, completed_at=None)

    backfill = import_module("payments.migrations.0011_approval_timing_backfill")
    with connection.cursor() as cursor:
        cursor.execute(backfill.CHAINS)
        cursor.execute(backfill.STEPS)

    for pr in prs:
        # The request time is the latest request entry's (the database's clock, within the same transaction).
        entry = AuditEntry.objects.filter(table_name="pr", record_id=str(pr.pk), action="request_approval")
        latest = entry.order_by("-occurred_at").values_list("occurred_at", flat=True).first()
        requested = chain(pr).requested_at
        draft = PaymentRequest.objects.get(pk=pr.pk).status == "draft"
        assert requested is None if draft else requested == latest
        completed_at, timed = written[pr.pk]
        assert chain(pr).completed_at == completed_at
        # Completions are the records' times exactly; the first step starts at the (backfilled) request.
        assert [(n, c) for n, _s, c in steps(pr)] == [(n, c) for n, _s, c in timed]
        assert [s for _n, s, _c in steps(pr)][1:] == [s for _n, s, _c in timed][1:]
        assert_consistent(pr)


# --- readers -------------------------------------------------------------------------------------------------
def test_oldest_pending_follows_the_recorded_request_time_of_the_current_cycle(maker):
    (a,) = approver_users(1)
    first = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    second = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    third = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    assert [r["id"] for r in queries.oldest_pending_approvals()] == [first.pk, second.pk, third.pk]
    # Recalled and requested again: a new cycle, so it has waited least.
    services.payment_request_recall(pr=first, actor=maker)
    services.payment_request_request_approval(pr=first, actor=maker)
    Approval.objects.filter(pr=third).update(requested_at=chain(second).requested_at - timedelta(hours=1))
    rows = queries.oldest_pending_approvals()
    assert [r["id"] for r in rows] == [third.pk, second.pk, first.pk]
    assert rows[2]["requested_at"] == chain(first).requested_at
    services.payment_request_approve(pr=third, actor=a)  # approved: no longer waiting
    assert [r["id"] for r in queries.oldest_pending_approvals(limit=1)] == [second.pk]


def test_queue_follows_the_open_step(maker):
    a, b = approver_users(2)
    pr = make_pr(maker=maker, steps=[("anyof", [a]), ("anyof", [b])], request=True)
    assert [p.pk for p in selectors.awaiting(a)] == [pr.pk] and not selectors.awaiting(b).exists()
    services.payment_request_approve(pr=pr, actor=a)
    assert not selectors.awaiting(a).exists() and [p.pk for p in selectors.awaiting(b)] == [pr.pk]
    services.payment_request_retract(pr=pr, actor=a)
    assert [p.pk for p in selectors.awaiting(a)] == [pr.pk] and not selectors.awaiting(b).exists()
    services.payment_request_recall(pr=pr, actor=maker)
    assert not selectors.awaiting(a).exists()


def test_queue_is_one_query_whatever_the_number_of_chains(maker, django_assert_num_queries):
    a, b = approver_users(2)
    for _ in range(3):
        make_pr(maker=maker, steps=[("anyof", [a]), ("anyof", [b])], request=True)
    with django_assert_num_queries(1):
        assert len(list(selectors.awaiting(a))) == 3
    for _ in range(3):
        make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    with django_assert_num_queries(1):
        assert len(list(selectors.awaiting(a))) == 6


def test_only_the_engine_services_write_chains():
    """The facts are right because every write of a chain goes through `approvals.services` (docs/approvals.md,
    "Timing": services, not triggers): no other application code writes a chain, its steps or its records."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    write = re.compile(
        r"\b(Approval|ApprovalStep|ApprovalRecord)\.objects\b[^;]*?\.(create|bulk_create|update|delete|get_or_create)\(",
        re.S,
    )
    offenders = []
    for path in root.glob("*/**/*.py"):
        relative = path.relative_to(root).as_posix()
        if relative.startswith(("approvals/services/", "tests/", "bench/", ".venv/")) or "/migrations/" in relative:
            continue
        for statement in path.read_text(encoding="utf-8").split("\n\n"):
            if write.search(statement):
                offenders.append(relative)
    assert offenders == []
