"""The approvers' decisions on a chain: who may fill which place on the current step, when a step is
satisfied, and withdrawing one's approval (docs/approvals.md).

The owning document locks its own rows first (its status rules are its own), then reads the chains
here under their locks in a fixed number of queries, decides each with the same pure rules and writes
every outcome in a few statements, whatever the number of documents (one approval or a bulk one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Case, DateTimeField, F, PositiveSmallIntegerField, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from acountee.errors import ConflictError, InvalidState, PermissionDeniedError
from approvals.models import (
    Approval,
    ApprovalDelegation,
    ApprovalRecord,
    ApprovalStep,
    ApprovalStepUser,
    StepMode,
)
from approvals.services.common import today

if TYPE_CHECKING:
    from accounts.models import User


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


@dataclass
class Chain:
    """One chain as read under its lock: steps by number, each step's approver ids in assignment
    order, and the approvals given so far."""

    approval: Approval
    steps: dict[int, ApprovalStep] = field(default_factory=dict)
    approvers: dict[int, list[int]] = field(default_factory=dict)  # step id → user ids
    records: list[ApprovalRecord] = field(default_factory=list)

    @property
    def current(self) -> ApprovalStep | None:
        return self.steps.get(self.approval.current_step)

    def approver_ids(self, step: ApprovalStep) -> list[int]:
        return self.approvers.get(step.pk, [])

    def given_by(self, actor: User) -> list[ApprovalRecord]:
        return [r for r in self.records if r.acted_by_id == actor.pk]


def chains_lock(approval_ids: Iterable[int]) -> dict[int, Chain]:
    """Lock the chains (ascending id; after their documents) and read them: four queries whatever
    their number."""
    approvals = list(Approval.objects.select_for_update().filter(pk__in=list(approval_ids)).order_by("id"))
    chains = {a.pk: Chain(approval=a) for a in approvals}
    step_owner: dict[int, int] = {}
    for step in ApprovalStep.objects.filter(approval_id__in=list(chains)).order_by("approval_id", "number"):
        chains[step.approval_id].steps[step.number] = step
        step_owner[step.pk] = step.approval_id
    for step_id, user_id in (
        ApprovalStepUser.objects.filter(step_id__in=list(step_owner)).order_by("id").values_list("step_id", "user_id")
    ):
        chains[step_owner[step_id]].approvers.setdefault(step_id, []).append(user_id)
    for record in ApprovalRecord.objects.filter(approval_id__in=list(chains)).order_by("id"):
        chains[record.approval_id].records.append(record)
    return chains


def ensure_current_approver(chain: Chain | None, actor: User) -> ApprovalStep:
    """The current step, if `actor` is one of its approvers or stands in for one today."""
    current = chain.current if chain is not None else None
    approver_ids = chain.approver_ids(current) if chain is not None and current is not None else []
    if chain is None or current is None or (actor.pk not in approver_ids and not Delegators(actor).among(approver_ids)):
        raise PermissionDeniedError(_("You are not an approver of the current step."), code="NOT_AN_APPROVER")
    return current


@dataclass
class Decision:
    chain: Chain
    record: ApprovalRecord
    satisfied: bool
    next_step: ApprovalStep | None

    @property
    def finished(self) -> bool:
        """The last step was satisfied: the document is approved."""
        return self.satisfied and self.next_step is None


def _choose_slot(
    step: ApprovalStep,
    approver_ids: list[int],
    records: list[ApprovalRecord],
    actor: User,
    delegators: Delegators,
    preparers: set[int],
) -> int:
    """Whose place on the current step `actor` fills, or the refusal that applies.
    PREPARER-NEVER-APPROVES: nobody who prepared the document approves it, in their own place or
    as a substitute, and a preparer's place is filled by nobody (ALLOW_SELF_APPROVAL, for a
    one-person company, lifts the first rule only)."""
    filled = {r.approver_id for r in records}
    if any(r.acted_by_id == actor.pk for r in records):
        raise ConflictError(
            _("You have already approved this step."), code="ALREADY_APPROVED", details={"step": step.number}
        )
    if actor.pk in approver_ids:
        if actor.pk in preparers and not settings.ALLOW_SELF_APPROVAL:
            raise PermissionDeniedError(
                _(
                    "You prepared this request (you made it, changed it, or requested its approval): "
                    "someone who did not prepare it must approve it."
                ),
                code="SELF_APPROVAL",
            )
        if actor.pk in filled:
            raise ConflictError(
                _("Your approval on this step has already been given by your substitute."),
                code="ALREADY_APPROVED",
                details={"step": step.number},
            )
        return actor.pk
    standing_in_for = delegators.among(approver_ids)
    if not standing_in_for:
        raise PermissionDeniedError(
            _("You are not an approver of the current step."),
            code="NOT_AN_APPROVER",
            details={"step": step.number},
        )
    if actor.pk in preparers:
        raise PermissionDeniedError(_("A substitute never approves a request they prepared."), code="SELF_APPROVAL")
    standing_in_for = [pk for pk in standing_in_for if pk not in preparers or settings.ALLOW_SELF_APPROVAL]
    if not standing_in_for:
        raise PermissionDeniedError(
            _("The approver you stand in for prepared this request: their place cannot be filled by a substitute."),
            code="SELF_APPROVAL",
        )
    open_slots = [pk for pk in standing_in_for if pk not in filled]
    if not open_slots:
        raise ConflictError(
            _("This approval has already been given."), code="ALREADY_APPROVED", details={"step": step.number}
        )
    return open_slots[0]


def _is_satisfied(step: ApprovalStep, approver_ids: list[int], records: list[ApprovalRecord]) -> bool:
    if step.mode == StepMode.ANYOF:
        return bool(records)
    return {r.approver_id for r in records} >= set(approver_ids)


def decide(chain: Chain, actor: User, delegators: Delegators, *, step: int | None, preparers: set[int]) -> Decision:
    """The approve rules on a chain read under its lock (the document's own state checked by its
    caller). `step`, when given, must be the current step (a stale screen never approves the next).
    Raises the refusal; writes nothing."""
    if getattr(actor, "is_service_account", False):
        # A machine never approves, whatever roles or scopes it was given (docs/security.md).
        raise PermissionDeniedError(_("A service account cannot approve."), code="SERVICE_ACCOUNT")
    approval = chain.approval
    current = chain.current
    if current is None:
        raise InvalidState(_("The approval chain is broken."), code="INVALID_STATE")
    mine = chain.given_by(actor)
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
    approver_ids = chain.approver_ids(current)
    records = [r for r in chain.records if r.step_id == current.pk]
    try:
        slot = _choose_slot(current, approver_ids, records, actor, delegators, preparers)
    except PermissionDeniedError as exc:
        # A repeat of an approval that already moved the chain on is a conflict, not a stranger.
        if exc.code == "NOT_AN_APPROVER" and mine:
            raise ConflictError(_("You have already approved this request."), code="ALREADY_APPROVED") from None
        raise
    record = ApprovalRecord(approval=approval, step=current, approver_id=slot, acted_by=actor)
    later = [n for n in chain.steps if n > current.number]
    return Decision(
        chain=chain,
        record=record,
        satisfied=_is_satisfied(current, approver_ids, [*records, record]),
        next_step=chain.steps[min(later)] if later else None,
    )


def decisions_record(decisions: list[Decision]) -> None:
    """Write the decided approvals in one INSERT; each satisfied step completes at its approval, the
    next step starts then, a finished chain completes then (docs/approvals.md, "Timing"); one UPDATE
    of the steps and one of the chains, whatever the number of decisions. The chains in memory follow."""
    if not decisions:
        return
    ApprovalRecord.objects.bulk_create([d.record for d in decisions])
    satisfied = [d for d in decisions if d.satisfied]
    if not satisfied:
        return
    completed = [When(pk=d.record.step_id, then=Value(d.record.approved_at)) for d in satisfied]
    started = [When(pk=d.next_step.pk, then=Value(d.record.approved_at)) for d in satisfied if d.next_step]
    ApprovalStep.objects.filter(
        pk__in=[d.record.step_id for d in satisfied] + [d.next_step.pk for d in satisfied if d.next_step]
    ).update(
        completed_at=Case(*completed, default=F("completed_at"), output_field=DateTimeField()),
        started_at=Case(*started, default=F("started_at"), output_field=DateTimeField())
        if started
        else F("started_at"),
    )
    moves = [When(pk=d.chain.approval.pk, then=Value(d.next_step.number)) for d in satisfied if d.next_step]
    finished = [When(pk=d.chain.approval.pk, then=Value(d.record.approved_at)) for d in satisfied if d.finished]
    Approval.objects.filter(pk__in=[d.chain.approval.pk for d in satisfied]).update(
        current_step=Case(*moves, default=F("current_step"), output_field=PositiveSmallIntegerField())
        if moves
        else F("current_step"),
        completed_at=Case(*finished, default=F("completed_at"), output_field=DateTimeField())
        if finished
        else F("completed_at"),
        updated_at=timezone.now(),
    )
    for d in satisfied:
        d.record.step.completed_at = d.record.approved_at
        if d.next_step is not None:
            d.next_step.started_at = d.record.approved_at
            d.chain.approval.current_step = d.next_step.number
        else:
            d.chain.approval.completed_at = d.record.approved_at


@dataclass
class Retraction:
    step: int
    record: ApprovalRecord
    moved_back: bool


def retract(approval: Approval, actor: User, *, finished: bool) -> Retraction:
    """Withdraw `actor`'s approval (given by them, or in their name by a substitute) on the current
    step — or on the step just satisfied, as long as nobody approved after it. `finished`: the
    document is approved (its last step satisfied). The chain moves back to that step."""
    mine = Q(acted_by=actor) | Q(approver=actor)
    current = approval.current_step
    records = ApprovalRecord.objects.filter(approval=approval).select_related("step")
    target_step: int | None = None
    if finished or records.filter(mine, step__number=current).exists():
        target_step = current
    elif not records.filter(step__number=current).exists():
        previous = ApprovalStep.objects.filter(approval=approval, number__lt=current).order_by("-number").first()
        if previous is not None:
            target_step = previous.number
    record = records.filter(mine, step__number=target_step).order_by("-id").first() if target_step else None
    if record is None or target_step is None:
        raise ConflictError(_("You have no approval that can be withdrawn."), code="NOTHING_TO_RETRACT")
    record.delete()
    moved_back = target_step != current
    if moved_back or finished:
        # The step is open again (since it started): it has not completed, the step after it has
        # not started, the chain has not completed.
        ApprovalStep.objects.filter(approval=approval, number__gte=target_step).filter(
            Q(completed_at__isnull=False) | Q(number__gt=target_step, started_at__isnull=False)
        ).update(
            completed_at=None,
            started_at=Case(When(number=target_step, then=F("started_at")), default=None, output_field=DateTimeField()),
        )
        approval.current_step = target_step
        approval.completed_at = None
        approval.save(update_fields=["current_step", "completed_at", "updated_at"])
    return Retraction(step=target_step, record=record, moved_back=moved_back)
