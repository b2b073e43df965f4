"""What the approval engine's services share: limits, the inline step shape, small checks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, TypedDict

from django.utils import timezone
from django.utils.translation import gettext as _

from acountee.errors import NotOwner, ValidationFailed
from approvals.models import ApprovalStep, StepMode

if TYPE_CHECKING:
    from accounts.models import User

MAX_STEPS = 20
MAX_APPROVERS_PER_STEP = 50


class StepSpec(TypedDict, total=False):
    """A step: {"name": str, "mode": "anyof"|"allof", "approvers": [User, …]}; a flow's step may
    also name "alternates" (docs/controls.md, ELIGIBLE-APPROVERS-UP-FRONT)."""

    name: str
    mode: str
    approvers: Sequence[User]
    alternates: Sequence[User]


def today() -> date:
    """The company's today (delegations run by calendar day in its time zone)."""
    return timezone.localdate()


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


def step_snapshot(step: ApprovalStep) -> dict[str, Any]:
    """A step as the audit log records it."""
    return {"number": step.number, "name": step.name, "mode": step.mode}
