"""What the approval services share: limits, the inline step shape, small checks and helpers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TypedDict

from django.utils import timezone
from django.utils.translation import gettext as _

from acountee.errors import (
    NotOwner,
    PermissionDeniedError,
    ValidationFailed,
)
from approvals import policy
from approvals.models import (
    Approval,
    ApprovalFlow,
    ApprovalStep,
    ApprovalStepUser,
    StepMode,
)
from payments.models import PaymentRequest, PaymentRequestStatus

if TYPE_CHECKING:
    from accounts.models import User

S = PaymentRequestStatus
UNSET: Any = object()
MAX_STEPS = 20
MAX_APPROVERS_PER_STEP = 50
MAX_BULK_APPROVE = 1000


class StepSpec(TypedDict, total=False):
    """A step: {"name": str, "mode": "anyof"|"allof", "approvers": [User, …]}; a flow's step may
    also name "alternates" (docs/controls.md, ELIGIBLE-APPROVERS-UP-FRONT)."""

    name: str
    mode: str
    approvers: Sequence[User]
    alternates: Sequence[User]


# --- small helpers ---------------------------------------------------------------------------------
def today() -> date:
    return timezone.localdate()


def money(value: Any, field: str) -> Decimal:
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationFailed(_("Not a valid amount."), details={field: [_("Not a valid amount.")]}) from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e16"):
        raise ValidationFailed(_("Not a valid amount."), details={field: [_("Not a valid amount.")]})
    return amount.quantize(Decimal("0.01"))


def clean_steps(steps: Sequence[StepSpec]) -> list[tuple[str, str, list[User]]]:
    """Validate inline steps; each needs a name, a valid mode and at least one distinct,
    active approver."""
    if not isinstance(steps, list | tuple):
        raise ValidationFailed(_("Steps must be a list."), details={"steps": [_("Steps must be a list.")]})
    if len(steps) > MAX_STEPS:
        raise ValidationFailed(_("Too many steps."), details={"steps": [_("At most %d steps.") % MAX_STEPS]})
    cleaned = []
    for index, step in enumerate(steps, start=1):
        name = str(step.get("name") or "").strip() or _("Step %(n)d") % {"n": index}
        mode = step.get("mode") or StepMode.ANYOF
        if mode not in StepMode.values:
            raise ValidationFailed(_("Unknown step mode."), details={"steps": {index: {"mode": [mode]}}})
        approvers = list(step.get("approvers") or [])
        if not approvers:
            raise ValidationFailed(
                _("Step %(n)d has no approver.") % {"n": index},
                code="STEP_WITHOUT_APPROVERS",
                details={"steps": {index: {"approvers": [_("At least one approver is required.")]}}},
            )
        if len(approvers) > MAX_APPROVERS_PER_STEP:
            raise ValidationFailed(_("Too many approvers in one step."), details={"steps": {index: {}}})
        if len({u.pk for u in approvers}) != len(approvers):
            raise ValidationFailed(
                _("Step %(n)d names an approver twice.") % {"n": index},
                code="DUPLICATE_APPROVER",
                details={"steps": {index: {"approvers": [_("Each approver once.")]}}},
            )
        inactive = [u.pk for u in approvers if not u.is_active]
        if inactive:
            raise ValidationFailed(
                _("Inactive users cannot approve."),
                code="INACTIVE_APPROVER",
                details={"steps": {index: {"approvers": inactive}}},
            )
        cleaned.append((name[:200], mode, approvers))
    return cleaned


def ensure_owner(actor: User | None) -> None:
    if actor is None or not actor.is_owner:
        raise NotOwner(_("Only owners manage approval flows."))


def ensure_can_complete(actor: User | None) -> None:
    if actor is not None and not actor.has_perm("payments.complete_paymentrequest"):
        raise PermissionDeniedError(_("Only finance staff can complete payment requests."), code="PERMISSION_DENIED")


def lock_approval(pr: PaymentRequest) -> Approval:
    """Second lock of every transition (after the PR row)."""
    approval = Approval.objects.select_for_update().filter(pr_id=pr.pk).first()
    if approval is None:  # a PR created outside the services: give it an empty chain
        approval = Approval.objects.create(pr=pr)
    return approval


def step_snapshot(step: ApprovalStep) -> dict[str, Any]:
    return {"number": step.number, "name": step.name, "mode": step.mode}


# --- chain building ------------------------------------------------------------------------------


def write_chain(
    approval: Approval, steps: list[policy.ChainStep], flow: ApprovalFlow | None, *, is_custom: bool
) -> None:
    """Replace the chain's steps (draft only; the caller holds the PR and approval locks)."""
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
    """A draft's chain before approval is requested: the flow as written (the request's own
    chain is built, for its final amount and preparers, at request approval)."""
    if flow is None:
        return []
    return [(step.name, step.mode, step.approvers) for step in policy.flow_steps(flow)]


def resolve_chain(
    *, actor: User | None, amount: Decimal, flow: ApprovalFlow | None, steps: Sequence[StepSpec] | None
) -> tuple[list[policy.ChainStep], ApprovalFlow | None, bool]:
    """(steps, source flow, custom?) for a draft. Inline steps or a chosen flow make a custom
    chain and need `approvals.customize_chain` (CHAIN-FROM-POLICY)."""
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


def linked_invoices(pr: PaymentRequest) -> list[Any]:
    """The PR's invoices, locked (after the PR: lock order PR → invoices)."""
    from invoices.models import Invoice

    return list(Invoice.objects.select_for_update().filter(pr_link__pr=pr).order_by("id"))
