"""Approve (one or in bulk) and retract: the approvers' decisions on a payment request's current
step. The request's own rules (its status, who prepared it) are checked here; the chain's rules are
the approval engine's (`approvals.services`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from acountee.db.errors import domain_error
from acountee.errors import AcounteeError, ConflictError, InvalidState, NotFoundError, ValidationFailed
from approvals import services as engine
from audit.services import audit_log, audit_log_many
from payments import events
from payments.audit_actions import PaymentRequestAction as PRAction
from payments.models import PaymentRequest
from payments.selectors import preparer_ids
from payments.services.common import S, ensure_status, lock_approval, payment_request_lock

if TYPE_CHECKING:
    from accounts.models import User

MAX_BULK_APPROVE = 1000


# --- approve ----------------------------------------------------------------------------------------
# One implementation serves a single approval and a bulk approval of many PRs: it locks the PR
# rows (ascending id), then their chains, decides each PR with the same rules, and writes all the
# outcomes in a few statements.
@dataclass
class Reading:
    """A PR and its chain, read under their locks."""

    pr: PaymentRequest
    chain: engine.Chain | None
    preparers: set[int]


def payment_requests_read_locked(pks: list[int]) -> list[Reading]:
    """Lock the PRs (ascending id), then their chains, and read the chains and the preparers: a
    fixed number of queries whatever the number of PRs."""
    prs = list(PaymentRequest.objects.select_for_update(of=("self",)).filter(pk__in=pks).order_by("id"))
    chains = engine.chains_lock(p.approval_id for p in prs if p.approval_id is not None)
    preparers = preparer_ids([p.pk for p in prs])
    return [
        Reading(pr=pr, chain=chains.get(pr.approval_id) if pr.approval_id else None, preparers=preparers[pr.pk])
        for pr in prs
    ]


def _decide(reading: Reading, actor: User, delegators: engine.Delegators, step: int | None) -> engine.Decision:
    """The approve rules, on data already read under the locks. Raises the refusal."""
    pr, chain = reading.pr, reading.chain
    if pr.status != S.PENDING:
        if pr.status in (S.APPROVED, S.COMPLETED) and chain is not None and chain.given_by(actor):
            raise ConflictError(_("You have already approved this payment request."), code="ALREADY_APPROVED")
        ensure_status(pr, S.PENDING, action=_("approve"))
    if chain is None:
        raise InvalidState(_("The approval chain is broken."), code="INVALID_STATE")
    return engine.decide(chain, actor, delegators, step=step, preparers=reading.preparers)


def _apply(decisions: list[tuple[PaymentRequest, engine.Decision]], actor: User) -> None:
    """Write the decided outcomes: the chains' records and moves, the approved PRs' status in one
    UPDATE, one semantic audit entry per PR; then the event hooks."""
    if not decisions:
        return
    engine.decisions_record([d for _pr, d in decisions])
    approved = [pr for pr, d in decisions if d.finished]
    if approved:
        PaymentRequest.objects.filter(pk__in=[pr.pk for pr in approved]).update(
            status=S.APPROVED, updated_at=timezone.now()
        )
        for pr in approved:
            pr.status = S.APPROVED
    entries: list[tuple[str | int, dict[str, Any]]] = [
        (
            pr.pk,
            {
                "step": d.record.step.number,
                "on_behalf_of": d.record.approver_id if d.record.approver_id != actor.pk else None,
                "step_satisfied": d.satisfied,
                "pr_approved": d.finished,
            },
        )
        for pr, d in decisions
    ]
    audit_log_many(action=PRAction.APPROVE, table="pr", actor=actor, entries=entries)
    with events.batch():  # one write of all the PRs' notifications, not a few statements per PR
        for pr, d in decisions:
            events.pr_changed(pr)  # every approval changes the page (its records), satisfied or not
            if d.finished:
                events.pr_approved(pr)
            elif d.satisfied and d.next_step is not None:
                events.step_advanced(pr, d.next_step)


def _approve_many(pks: list[int], actor: User, *, step: int | None = None) -> tuple[list[Reading], dict[int, Any]]:
    """Call inside one transaction. Returns the PRs read and, per PR id, either the decision
    applied or the refusal (an AcounteeError); ids not found are absent."""
    readings = payment_requests_read_locked(pks)
    delegators = engine.Delegators(actor)
    outcome: dict[int, Any] = {}
    decisions = []
    for reading in readings:
        try:
            decision = _decide(reading, actor, delegators, step)
        except AcounteeError as exc:
            outcome[reading.pr.pk] = exc
        else:
            decisions.append((reading.pr, decision))
            outcome[reading.pr.pk] = decision
    _apply(decisions, actor)
    return readings, outcome


def payment_request_approve(*, pr: PaymentRequest, actor: User, step: int | None = None) -> PaymentRequest:
    """Approve the current step (as an assigned approver, or as the substitute of one).

    anyof: one approval satisfies the step; allof: every assigned approver's place must be
    filled. A satisfied step advances the chain; the last one makes the PR approved. `step`,
    when given, must be the current step (protects a stale screen from approving the next)."""
    with transaction.atomic():
        try:
            chains, outcome = _approve_many([int(pr.pk)], actor, step=step)
        except IntegrityError:  # the unique constraints: a second line behind the PR lock
            raise ConflictError(_("You have already approved this step."), code="ALREADY_APPROVED") from None
        if not chains:
            raise NotFoundError(_("Payment request not found."), code="NOT_FOUND")
        result = outcome[chains[0].pr.pk]
        if isinstance(result, AcounteeError):
            raise result
        approved = chains[0].pr
        approved.approval = result.chain.approval
        return approved


@dataclass
class BulkApproveResult:
    approved: list[int]
    failed: list[dict[str, Any]]


BULK_BATCH = 100


def payment_requests_bulk_approve(*, ids: Iterable[int], actor: User) -> BulkApproveResult:
    """Approve many PRs, each succeeding or failing on its own, in ascending id order (the
    global lock order). PRs go in batches of BULK_BATCH per short transaction: every rule is
    decided per PR before anything is written, so a refusal never touches the others; if the
    database itself refuses a batch, that batch is redone one PR per transaction."""
    try:
        unique_ids = sorted({int(i) for i in ids})
    except (TypeError, ValueError):
        raise ValidationFailed(_("Ids must be integers."), details={"ids": [_("Ids must be integers.")]}) from None
    if len(unique_ids) > MAX_BULK_APPROVE:
        raise ValidationFailed(_("At most %d payment requests at once.") % MAX_BULK_APPROVE, code="TOO_MANY_IDS")
    outcome: dict[int, Any] = {}
    for start in range(0, len(unique_ids), BULK_BATCH):
        batch = unique_ids[start : start + BULK_BATCH]
        try:
            with transaction.atomic():
                _chains, batch_outcome = _approve_many(batch, actor)
            outcome.update(batch_outcome)
        except DatabaseError:
            for pk in batch:  # one by one: whatever the database refused stays with its PR
                try:
                    with transaction.atomic():
                        _chains, single = _approve_many([pk], actor)
                    outcome.update(single)
                except IntegrityError:
                    outcome[pk] = ConflictError(_("You have already approved this step."), code="ALREADY_APPROVED")
                except DatabaseError as exc:  # lock_timeout (BUSY), disk full…: this PR fails, the others go on
                    failure = domain_error(exc)
                    outcome[pk] = (
                        failure.error
                        if failure
                        else ConflictError(_("The payment request is busy; try again."), code="BUSY")
                    )
    result = BulkApproveResult(approved=[], failed=[])
    for pk in unique_ids:
        got = outcome.get(pk)
        if got is None:
            result.failed.append({"id": pk, "code": "NOT_FOUND", "message": str(_("Payment request not found."))})
        elif isinstance(got, AcounteeError):
            result.failed.append({"id": pk, "code": got.code, "message": str(got.message)})
        else:
            result.approved.append(pk)
    return result


# --- retract ---------------------------------------------------------------------------------------
def payment_request_retract(*, pr: PaymentRequest, actor: User) -> PaymentRequest:
    """Withdraw one's own approval (given by oneself, or in one's name by a substitute) on the
    current step — or on the step just satisfied, as long as nobody approved after it. The chain
    moves back to that step; an approved PR returns to pending."""
    with transaction.atomic():
        pr = payment_request_lock(pk=pr.pk)
        if pr.status not in (S.PENDING, S.APPROVED):
            ensure_status(pr, S.PENDING, S.APPROVED, action=_("retract an approval on"))
        retraction = engine.retract(lock_approval(pr), actor, finished=pr.status == S.APPROVED)
        was = pr.status
        if pr.status == S.APPROVED:
            pr.status = S.PENDING
            pr.save(update_fields=["status", "updated_at"])
        record = retraction.record
        events.approval_retracted(pr, retraction.step, retraction.moved_back)
        audit_log(
            action=PRAction.RETRACT,
            table="pr",
            record_id=pr.pk,
            actor=actor,
            metadata={
                "step": retraction.step,
                "on_behalf_of": record.approver_id if record.approver_id != actor.pk else None,
                "acted_by": record.acted_by_id,
                "from_status": was,
                "chain_moved_back": retraction.moved_back,
            },
        )
    return pr
