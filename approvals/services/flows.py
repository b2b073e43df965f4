"""Approval flows: the owners' templates by amount range, with approvers and alternates."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from acountee.errors import (
    Duplicate,
    NotFoundError,
    ValidationFailed,
)
from acountee.money import parse_amount
from approvals.audit_actions import FlowAction
from approvals.models import (
    ApprovalFlow,
    ApprovalFlowStep,
    ApprovalFlowStepUser,
)
from approvals.services.common import MAX_APPROVERS_PER_STEP, StepSpec, clean_steps, ensure_owner
from audit.services import audit_log

if TYPE_CHECKING:
    from accounts.models import User


# --- flows ---------------------------------------------------------------------------------------------
def _flow_range(min_amount: Any, max_amount: Any) -> tuple[Decimal | None, Decimal | None]:
    lo = None if min_amount in (None, "") else parse_amount(min_amount, "min_amount")
    hi = None if max_amount in (None, "") else parse_amount(max_amount, "max_amount")
    if lo is not None and hi is not None and lo >= hi:
        raise ValidationFailed(
            _("The minimum must be below the maximum."),
            code="INVALID_RANGE",
            details={"max_amount": [_("Must be greater than the minimum.")]},
        )
    return lo, hi


def _save_flow(flow: ApprovalFlow) -> None:
    try:
        with transaction.atomic():
            flow.save()
    except IntegrityError as exc:
        text = str(exc)
        if "approval_flows_active_ranges_disjoint" in text:
            raise Duplicate(
                _("The amount range overlaps another active flow."),
                code="FLOW_RANGE_OVERLAP",
                details={"min_amount": [str(flow.min_amount)], "max_amount": [str(flow.max_amount)]},
            ) from None
        if "approval_flows_name" in text or "name" in text:
            raise Duplicate(_("An approval flow with this name already exists."), code="DUPLICATE") from None
        raise


def _clean_alternates(steps: Sequence[StepSpec]) -> list[list[User]]:
    """Each step's alternates: active, distinct, none of them also an approver of the step."""
    out = []
    for index, step in enumerate(steps, start=1):
        alternates = list(step.get("alternates") or [])
        approver_ids = {u.pk for u in step.get("approvers") or []}
        if len({u.pk for u in alternates}) != len(alternates) or approver_ids & {u.pk for u in alternates}:
            raise ValidationFailed(
                _("Step %(n)d names a person twice (an alternate is not also an approver).") % {"n": index},
                code="DUPLICATE_APPROVER",
                details={"steps": {index: {"alternates": [_("Each person once.")]}}},
            )
        if len(alternates) > MAX_APPROVERS_PER_STEP:
            raise ValidationFailed(_("Too many approvers in one step."), details={"steps": {index: {}}})
        inactive = [u.pk for u in alternates if not u.is_active]
        if inactive:
            raise ValidationFailed(
                _("Inactive users cannot approve."),
                code="INACTIVE_APPROVER",
                details={"steps": {index: {"alternates": inactive}}},
            )
        out.append(alternates)
    return out


def _write_flow_steps(flow: ApprovalFlow, steps: Sequence[StepSpec]) -> None:
    cleaned = clean_steps(steps)
    alternates = _clean_alternates(steps)
    ApprovalFlowStep.objects.filter(flow=flow).delete()
    created = ApprovalFlowStep.objects.bulk_create(
        [
            ApprovalFlowStep(flow=flow, number=n, name=name, mode=mode)
            for n, (name, mode, _a) in enumerate(cleaned, start=1)
        ]
    )
    ApprovalFlowStepUser.objects.bulk_create(
        [
            ApprovalFlowStepUser(step=step, user=user)
            for step, (_n, _m, approvers) in zip(created, cleaned, strict=True)
            for user in approvers
        ]
        + [
            ApprovalFlowStepUser(step=step, user=user, is_alternate=True)
            for step, users in zip(created, alternates, strict=True)
            for user in users
        ]
    )


def _flow_snapshot(flow: ApprovalFlow) -> dict[str, Any]:
    return {
        "name": flow.name,
        "is_active": flow.is_active,
        "min_amount": None if flow.min_amount is None else str(flow.min_amount),
        "max_amount": None if flow.max_amount is None else str(flow.max_amount),
        "steps": [
            {
                "number": s.number,
                "name": s.name,
                "mode": s.mode,
                "approvers": [su.user_id for su in s.step_users.all() if not su.is_alternate],
                "alternates": [su.user_id for su in s.step_users.all() if su.is_alternate],
            }
            for s in flow.steps.order_by("number").prefetch_related("step_users")
        ],
    }


def approval_flow_create(
    *,
    actor: User | None,
    name: str,
    steps: Sequence[StepSpec],
    description: str = "",
    is_active: bool = True,
    min_amount: Any = None,
    max_amount: Any = None,
) -> ApprovalFlow:
    """Owners only. A flow needs at least one step with approvers."""
    ensure_owner(actor)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("A name is required."), details={"name": [_("This field is required.")]})
    if not steps:
        raise ValidationFailed(_("A flow needs at least one step."), code="NO_APPROVAL_STEPS")
    lo, hi = _flow_range(min_amount, max_amount)
    with transaction.atomic():
        if ApprovalFlow.objects.filter(name__iexact=name).exists():
            raise Duplicate(_("An approval flow with this name already exists."))
        flow = ApprovalFlow(name=name, description=description or "", is_active=is_active, min_amount=lo, max_amount=hi)
        _save_flow(flow)
        _write_flow_steps(flow, steps)
        audit_log(
            action=FlowAction.CREATE,
            table="approval_flows",
            record_id=flow.pk,
            actor=actor,
            metadata=_flow_snapshot(flow),
        )
    return flow


def approval_flow_update(
    *, flow: ApprovalFlow, actor: User | None, steps: Sequence[StepSpec] | None = None, **fields: Any
) -> ApprovalFlow:
    """Owners only. Replacing the steps never touches PRs already created from the flow."""
    ensure_owner(actor)
    allowed = {"name", "description", "is_active", "min_amount", "max_amount"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationFailed(_("Unknown field."), details={k: [_("Unknown field.")] for k in sorted(unknown)})
    with transaction.atomic():
        flow = ApprovalFlow.objects.select_for_update().get(pk=flow.pk)
        before = _flow_snapshot(flow)
        if "name" in fields:
            name = (fields["name"] or "").strip()
            if not name:
                raise ValidationFailed(_("A name is required."), details={"name": [_("This field is required.")]})
            if ApprovalFlow.objects.filter(name__iexact=name).exclude(pk=flow.pk).exists():
                raise Duplicate(_("An approval flow with this name already exists."))
            flow.name = name
        if "description" in fields:
            flow.description = fields["description"] or ""
        if "is_active" in fields:
            flow.is_active = bool(fields["is_active"])
        if "min_amount" in fields or "max_amount" in fields:
            flow.min_amount, flow.max_amount = _flow_range(
                fields.get("min_amount", flow.min_amount), fields.get("max_amount", flow.max_amount)
            )
        _save_flow(flow)
        if steps is not None:
            if not steps:
                raise ValidationFailed(_("A flow needs at least one step."), code="NO_APPROVAL_STEPS")
            _write_flow_steps(flow, steps)
        audit_log(
            action=FlowAction.UPDATE,
            table="approval_flows",
            record_id=flow.pk,
            actor=actor,
            metadata={"before": before, "after": _flow_snapshot(flow)},
        )
    return flow


def approval_flow_delete(*, flow: ApprovalFlow, actor: User | None) -> None:
    """Owners only. Submitted PRs keep their copied chain; a draft takes the flow for its amount
    when approval is requested."""
    ensure_owner(actor)
    with transaction.atomic():
        locked = ApprovalFlow.objects.select_for_update().filter(pk=flow.pk).first()
        if locked is None:
            raise NotFoundError()
        flow = locked
        audit_log(
            action=FlowAction.DELETE,
            table="approval_flows",
            record_id=flow.pk,
            actor=actor,
            metadata=_flow_snapshot(flow),
        )
        flow.delete()
