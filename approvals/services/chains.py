"""A document's approval chain while it is prepared and when it is fixed (docs/approvals.md).

The engine never knows what it approves: the owning document (a payment request today) keeps a
one-to-one link to its `Approval`, locks itself first, then calls these with the amount and the
people who prepared it. Lock order: the document row → the approval row → its steps and records.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Case, DateTimeField, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from acountee.errors import InvalidState, ValidationFailed
from approvals import policy
from approvals.models import Approval, ApprovalFlow, ApprovalRecord, ApprovalStep, ApprovalStepUser
from approvals.services.common import StepSpec, clean_steps

if TYPE_CHECKING:
    from accounts.models import User


def chain_create(*, flow: ApprovalFlow | None, steps: list[policy.ChainStep], is_custom: bool) -> Approval:
    """A new chain for a new document (in the caller's transaction)."""
    approval = Approval.objects.create(flow=flow)
    write_chain(approval, steps, flow, is_custom=is_custom)
    return approval


def write_chain(
    approval: Approval, steps: list[policy.ChainStep], flow: ApprovalFlow | None, *, is_custom: bool
) -> None:
    """Replace the chain's steps (while its document is prepared; the caller holds the locks)."""
    ApprovalStep.objects.filter(approval=approval).delete()
    created = ApprovalStep.objects.bulk_create(
        [
            ApprovalStep(approval=approval, number=n, name=name, mode=mode)
            for n, (name, mode, _approvers) in enumerate(steps, start=1)
        ]
    )
    ApprovalStepUser.objects.bulk_create(
        [
            ApprovalStepUser(step=step, user=user)
            for step, (_name, _mode, approvers) in zip(created, steps, strict=True)
            for user in approvers
        ]
    )
    approval.flow = flow
    approval.is_custom = is_custom
    approval.current_step = 0
    approval.save(update_fields=["flow", "is_custom", "current_step", "updated_at"])


def preview_chain(flow: ApprovalFlow | None) -> list[policy.ChainStep]:
    """A chain before it is fixed: the flow as written (the chain to walk is built, for the final
    amount and the preparers, when approval is requested)."""
    if flow is None:
        return []
    return [(step.name, step.mode, step.approvers) for step in policy.flow_steps(flow)]


def resolve_chain(
    *, actor: User | None, amount: Decimal, flow: ApprovalFlow | None, steps: Sequence[StepSpec] | None
) -> tuple[list[policy.ChainStep], ApprovalFlow | None, bool]:
    """(steps, source flow, custom?) while a document is prepared. Inline steps or a chosen flow
    make a custom chain and need `approvals.customize_chain` (CHAIN-FROM-POLICY)."""
    if flow is not None and steps is not None:
        raise ValidationFailed(_("Give either a flow or inline steps, not both."), code="FLOW_AND_STEPS")
    if steps is not None:
        policy.ensure_may_customize(actor)
        return clean_steps(steps), None, True
    if flow is not None:
        policy.ensure_may_customize(actor)
        if not flow.is_active:
            raise ValidationFailed(
                _("This approval flow is not active."), code="FLOW_INACTIVE", details={"flow": [flow.pk]}
            )
        return preview_chain(flow), flow, True
    by_amount = policy.flow_for_amount(amount)
    return preview_chain(by_amount), by_amount, False


def chain_fix(approval: Approval, *, amount: Decimal, preparers: set[int]) -> list[ApprovalStep]:
    """CHAIN-FROM-POLICY at approval request: the amount's flow, copied now and frozen (later flow
    edits change nothing); a custom chain must contain it. Every step must have an eligible
    approver (ELIGIBLE-APPROVERS-UP-FRONT). Returns the steps, in order.

    Its refusals are the state's, not the call's (docs/API.md, "400 or 409"): the sending call is always well
    formed, and something must change first — a flow set up for the amount, an approver reactivated, the chain
    edited — so each is a 409 with its own code."""
    try:
        return _chain_fix(approval, amount=amount, preparers=preparers)
    except ValidationFailed as refusal:
        raise InvalidState(refusal.message, code=refusal.code, details=refusal.details) from None


def _chain_fix(approval: Approval, *, amount: Decimal, preparers: set[int]) -> list[ApprovalStep]:
    flow = policy.flow_for_amount(amount)
    required = policy.policy_chain(flow, preparers) if flow is not None else None
    if approval.is_custom:
        current = [
            (step.name, step.mode, [su.user for su in step.step_users.all()])
            for step in approval.steps.order_by("number").prefetch_related("step_users__user")
        ]
        if not current:
            raise InvalidState(_("The request has no approval steps."), code="NO_APPROVAL_STEPS")
        policy.ensure_custom_chain_eligible(current, preparers)
        if flow is not None and required is not None:
            policy.ensure_covers_policy(current, required, flow)
    else:
        if flow is None or required is None:
            raise ValidationFailed(
                _("No active approval flow covers %(amount)s: ask an owner to set up an approval flow for this amount.")
                % {"amount": amount},
                code="NO_FLOW_FOR_AMOUNT",
            )
        write_chain(approval, required, flow, is_custom=False)
    return list(approval.steps.order_by("number"))


def chain_start(approval: Approval, first: ApprovalStep) -> None:
    """The chain is walked from its first step: a new cycle, requested now (docs/approvals.md,
    "Timing"); the first step starts with it."""
    now = timezone.now()
    # One statement, touching only the first step and any step a custom chain kept timed.
    ApprovalStep.objects.filter(approval=approval).filter(
        Q(pk=first.pk) | Q(started_at__isnull=False) | Q(completed_at__isnull=False)
    ).update(
        started_at=Case(When(pk=first.pk, then=Value(now)), default=None, output_field=DateTimeField()),
        completed_at=None,
    )
    first.started_at, first.completed_at = now, None
    approval.current_step = first.number
    approval.requested_at, approval.completed_at = now, None
    approval.save(update_fields=["current_step", "requested_at", "completed_at", "updated_at"])


def chain_reset(approval: Approval) -> list[dict[str, Any]]:
    """Back to preparation (a rejection, a recall): every approval given is cleared and returned,
    as the audit entry records it (the trigger's rows keep them too)."""
    cleared = [
        {"step": number, "approver": approver, "acted_by": acted_by, "approved_at": at.isoformat()}
        for number, approver, acted_by, at in ApprovalRecord.objects.filter(approval=approval)
        .order_by("id")
        .values_list("step__number", "approver_id", "acted_by_id", "approved_at")
    ]
    ApprovalRecord.objects.filter(approval=approval).delete()
    # The cycle ends unfinished: its timing goes with its records (a new request starts a new one).
    ApprovalStep.objects.filter(approval=approval).filter(
        Q(started_at__isnull=False) | Q(completed_at__isnull=False)
    ).update(started_at=None, completed_at=None)
    approval.current_step = 0
    approval.requested_at, approval.completed_at = None, None
    approval.save(update_fields=["current_step", "requested_at", "completed_at", "updated_at"])
    return cleared
