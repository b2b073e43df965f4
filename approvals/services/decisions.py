"""Approve (one or in bulk) and retract: the approvers' decisions on the current step."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from acountee.db.errors import domain_error
from acountee.errors import (
    AcounteeError,
    ConflictError,
    InvalidState,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailed,
)
from approvals import events
from approvals.audit_actions import PaymentRequestAction as PRAction
from approvals.models import (
    Approval,
    ApprovalDelegation,
    ApprovalRecord,
    ApprovalStep,
    ApprovalStepUser,
    StepMode,
)
from approvals.services.common import MAX_BULK_APPROVE, S, lock_approval, today
from audit.services import audit_log_many
from payments.models import PaymentRequest
from payments.selectors import preparer_ids
from payments.services import (
    audit,
    ensure_status,
    payment_request_lock,
)

if TYPE_CHECKING:
    from accounts.models import User


# --- approve ----------------------------------------------------------------------------------------
# One implementation serves a single approval and a bulk approval of many PRs: it locks the PR
# rows (ascending id), then their approval rows, reads every chain in a fixed number of queries,
# decides each PR with the same pure rules, and writes all the outcomes in a few statements.
@dataclass
class _StepState:
    step: ApprovalStep
    approver_ids: list[int]
    records: list[ApprovalRecord]


class Delegators:
    """Whom the actor substitutes for today (company time zone), read at most once per call."""

    def __init__(self, actor: User):
        self.actor = actor
        self._ids: set[int] | None = None

    def among(self, approver_ids: Iterable[int]) -> list[int]:
        if self._ids is None:
            on = today()
            self._ids = set(
                ApprovalDelegation.objects.filter(
                    substitute=self.actor, start_date__lte=on, end_date__gte=on
                ).values_list("approver_id", flat=True)
            )
        return [pk for pk in approver_ids if pk in self._ids]


def _choose_slot(
    pr: PaymentRequest, state: _StepState, actor: User, delegators: Delegators, preparers: set[int]
) -> int:
    """Whose place on the current step `actor` fills, or the refusal that applies.
    PREPARER-NEVER-APPROVES: nobody who prepared the request approves it, in their own place or
    as a substitute, and a preparer's place is filled by nobody (ALLOW_SELF_APPROVAL, for a
    one-person company, lifts the first rule only)."""
    filled = {r.approver_id for r in state.records}
    if any(r.acted_by_id == actor.pk for r in state.records):
        raise ConflictError(
            _("You have already approved this step."), code="ALREADY_APPROVED", details={"step": state.step.number}
        )
    if actor.pk in state.approver_ids:
        if actor.pk in preparers and not settings.ALLOW_SELF_APPROVAL:
            raise PermissionDeniedError(
                _(
                    "You prepared this payment request (you made it, changed it, or requested its approval): "
                    "someone who did not prepare it must approve it."
                ),
                code="SELF_APPROVAL",
            )
        if actor.pk in filled:
            raise ConflictError(
                _("Your approval on this step has already been given by your substitute."),
                code="ALREADY_APPROVED",
                details={"step": state.step.number},
            )
        return actor.pk
    standing_in_for = delegators.among(state.approver_ids)
    if not standing_in_for:
        raise PermissionDeniedError(
            _("You are not an approver of the current step."),
            code="NOT_AN_APPROVER",
            details={"step": state.step.number},
        )
    if actor.pk in preparers:
        raise PermissionDeniedError(
            _("A substitute never approves a payment request they prepared."), code="SELF_APPROVAL"
        )
    standing_in_for = [pk for pk in standing_in_for if pk not in preparers or settings.ALLOW_SELF_APPROVAL]
    if not standing_in_for:
        raise PermissionDeniedError(
            _(
                "The approver you stand in for prepared this payment request: their place "
                "cannot be filled by a substitute."
            ),
            code="SELF_APPROVAL",
        )
    open_slots = [pk for pk in standing_in_for if pk not in filled]
    if not open_slots:
        raise ConflictError(
            _("This approval has already been given."), code="ALREADY_APPROVED", details={"step": state.step.number}
        )
    return open_slots[0]


def _is_satisfied(state: _StepState) -> bool:
    if state.step.mode == StepMode.ANYOF:
        return bool(state.records)
    return {r.approver_id for r in state.records} >= set(state.approver_ids)


@dataclass
class _Chain:
    pr: PaymentRequest
    approval: Approval | None
    steps: dict[int, ApprovalStep]  # by number
    approvers: dict[int, list[int]]  # step id → user ids, in assignment order
    records: list[ApprovalRecord]
    preparers: set[int]


@dataclass
class _Decision:
    chain: _Chain
    record: ApprovalRecord
    satisfied: bool
    next_step: ApprovalStep | None


def load_chains(pks: list[int]) -> list[_Chain]:
    """Lock the PRs (ascending id), then their approvals (same order), and read the chains and
    the preparers: six queries whatever the number of PRs."""
    prs = list(PaymentRequest.objects.select_for_update(of=("self",)).filter(pk__in=pks).order_by("id"))
    approvals = {
        a.pr_id: a for a in Approval.objects.select_for_update().filter(pr_id__in=[p.pk for p in prs]).order_by("pr_id")
    }
    approval_ids = [a.pk for a in approvals.values()]
    steps: dict[int | None, dict[int, ApprovalStep]] = {}  # looked up by a PR's approval id, None without one
    step_owner: dict[int, int] = {}
    for step in ApprovalStep.objects.filter(approval_id__in=approval_ids).order_by("approval_id", "number"):
        steps.setdefault(step.approval_id, {})[step.number] = step
        step_owner[step.pk] = step.approval_id
    approvers: dict[int, list[int]] = {}
    for step_id, user_id in (
        ApprovalStepUser.objects.filter(step_id__in=list(step_owner)).order_by("id").values_list("step_id", "user_id")
    ):
        approvers.setdefault(step_id, []).append(user_id)
    records: dict[int | None, list[ApprovalRecord]] = {}
    for record in ApprovalRecord.objects.filter(approval_id__in=approval_ids).order_by("id"):
        records.setdefault(record.approval_id, []).append(record)
    preparers = preparer_ids([p.pk for p in prs])
    chains = []
    for pr in prs:
        approval = approvals.get(pr.pk)
        aid = approval.pk if approval else None
        chains.append(
            _Chain(
                pr=pr,
                approval=approval,
                steps=steps.get(aid, {}),
                approvers=approvers,
                records=records.get(aid, []),
                preparers=preparers[pr.pk],
            )
        )
    return chains


def _decide(chain: _Chain, actor: User, delegators: Delegators, step: int | None) -> _Decision:
    """The approve rules, on data already read under the locks. Raises the refusal."""
    pr, approval = chain.pr, chain.approval
    mine = [r for r in chain.records if r.acted_by_id == actor.pk]
    if pr.status != S.PENDING:
        if pr.status in (S.APPROVED, S.COMPLETED) and mine:
            raise ConflictError(_("You have already approved this payment request."), code="ALREADY_APPROVED")
        ensure_status(pr, S.PENDING, action=_("approve"))
    if approval is None or approval.current_step not in chain.steps:
        raise InvalidState(_("The approval chain is broken."), code="INVALID_STATE")
    current = chain.steps[approval.current_step]
    if step is not None and step != current.number:
        if any(r.step_id == getattr(chain.steps.get(step), "pk", None) for r in mine):
            raise ConflictError(
                _("You have already approved this step."), code="ALREADY_APPROVED", details={"step": step}
            )
        raise ConflictError(
            _("The chain has moved on: step %(n)d is no longer awaiting approval.") % {"n": step},
            code="STEP_CHANGED",
            details={"current_step": current.number},
        )
    state = _StepState(
        step=current,
        approver_ids=chain.approvers.get(current.pk, []),
        records=[r for r in chain.records if r.step_id == current.pk],
    )
    try:
        slot = _choose_slot(pr, state, actor, delegators, chain.preparers)
    except PermissionDeniedError as exc:
        # A repeat of an approval that already moved the chain on is a conflict, not a stranger.
        if exc.code == "NOT_AN_APPROVER" and mine:
            raise ConflictError(_("You have already approved this payment request."), code="ALREADY_APPROVED") from None
        raise
    record = ApprovalRecord(approval=approval, step=current, approver_id=slot, acted_by=actor)
    state.records.append(record)
    later = [n for n in chain.steps if n > current.number]
    next_step = chain.steps[min(later)] if later else None
    return _Decision(chain=chain, record=record, satisfied=_is_satisfied(state), next_step=next_step)


def _apply(decisions: list[_Decision], actor: User) -> None:
    """Write the decided outcomes: records in one INSERT, status and pointer changes in a few
    UPDATEs, one semantic audit entry per PR; then the event hooks."""
    if not decisions:
        return
    ApprovalRecord.objects.bulk_create([d.record for d in decisions])
    now = timezone.now()
    approved = [d.chain.pr.pk for d in decisions if d.satisfied and d.next_step is None]
    if approved:
        PaymentRequest.objects.filter(pk__in=approved).update(status=S.APPROVED, updated_at=now)
    moves: dict[int, list[int]] = {}
    for d in decisions:
        if d.satisfied and d.next_step is not None:
            moves.setdefault(d.next_step.number, []).append(d.chain.approval.pk)  # type: ignore[union-attr]
    for number, approval_ids in moves.items():
        Approval.objects.filter(pk__in=approval_ids).update(current_step=number, updated_at=now)
    entries: list[tuple[str | int, dict[str, Any]]] = []
    for d in decisions:
        pr, approval = d.chain.pr, d.chain.approval
        last = d.satisfied and d.next_step is None
        if last:
            pr.status = S.APPROVED
        elif d.satisfied and approval is not None and d.next_step is not None:
            approval.current_step = d.next_step.number
        entries.append(
            (
                pr.pk,
                {
                    "step": d.record.step.number,
                    "on_behalf_of": d.record.approver_id if d.record.approver_id != actor.pk else None,
                    "step_satisfied": d.satisfied,
                    "pr_approved": last,
                },
            )
        )
    audit_log_many(action=PRAction.APPROVE, table="pr", actor=actor, entries=entries)
    with events.batch():  # one write of all the PRs' notifications, not a few statements per PR
        for d in decisions:
            pr = d.chain.pr
            last = d.satisfied and d.next_step is None
            if last:
                events.pr_approved(pr)
            elif d.satisfied and d.next_step is not None:
                events.step_advanced(pr, d.next_step)


def _approve_many(pks: list[int], actor: User, *, step: int | None = None) -> tuple[list[_Chain], dict[int, Any]]:
    """Call inside one transaction. Returns the chains read and, per PR id, either the
    decision applied or the refusal (an AcounteeError); ids not found are absent."""
    chains = load_chains(pks)
    delegators = Delegators(actor)
    outcome: dict[int, Any] = {}
    decisions = []
    for chain in chains:
        try:
            decision = _decide(chain, actor, delegators, step)
        except AcounteeError as exc:
            outcome[chain.pr.pk] = exc
        else:
            decisions.append(decision)
            outcome[chain.pr.pk] = decision
    _apply(decisions, actor)
    return chains, outcome


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
        approved.approval = chains[0].approval
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
    """Withdraw one's own approval (given by oneself, or in one's name by a substitute) on
    the current step — or on the step just satisfied, as long as nobody approved after it.
    The chain moves back to that step; an approved PR returns to pending."""
    with transaction.atomic():
        pr = payment_request_lock(pk=pr.pk)
        if pr.status not in (S.PENDING, S.APPROVED):
            ensure_status(pr, S.PENDING, S.APPROVED, action=_("retract an approval on"))
        approval = lock_approval(pr)
        mine = Q(acted_by=actor) | Q(approver=actor)
        current = approval.current_step
        records = ApprovalRecord.objects.filter(approval=approval).select_related("step")
        target_step: int | None = None
        if pr.status == S.APPROVED or records.filter(mine, step__number=current).exists():
            target_step = current
        elif not records.filter(step__number=current).exists():
            previous = ApprovalStep.objects.filter(approval=approval, number__lt=current).order_by("-number").first()
            if previous is not None:
                target_step = previous.number
        record = records.filter(mine, step__number=target_step).order_by("-id").first() if target_step else None
        if record is None:
            raise ConflictError(_("You have no approval that can be withdrawn."), code="NOTHING_TO_RETRACT")
        assert target_step is not None  # a record was found on it (narrows the type)
        record.delete()
        moved_back = target_step != current
        if moved_back:
            approval.current_step = target_step
            approval.save(update_fields=["current_step", "updated_at"])
        was = pr.status
        if pr.status == S.APPROVED:
            pr.status = S.PENDING
            pr.save(update_fields=["status", "updated_at"])
        audit(
            action=PRAction.RETRACT,
            table="pr",
            record_id=pr.pk,
            actor=actor,
            metadata={
                "step": target_step,
                "on_behalf_of": record.approver_id if record.approver_id != actor.pk else None,
                "acted_by": record.acted_by_id,
                "from_status": was,
                "chain_moved_back": moved_back,
            },
        )
    return pr
