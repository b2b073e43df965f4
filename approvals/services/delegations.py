"""Delegation: an approver names a substitute for a date range."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _

from acountee.errors import (
    PermissionDeniedError,
    ValidationFailed,
)
from approvals.audit_actions import DelegationAction
from approvals.models import (
    ApprovalDelegation,
)
from audit.services import audit_log

if TYPE_CHECKING:
    from accounts.models import User


# --- delegation ----------------------------------------------------------------------------------------
def approval_delegation_create(
    *, actor: User, approver: User, substitute: User, start_date: date, end_date: date, note: str = ""
) -> ApprovalDelegation:
    """An approver names a substitute for a date range (owners may do it for anyone)."""
    if actor.pk != approver.pk and not actor.is_owner:
        raise PermissionDeniedError(_("You can only delegate your own approvals."), code="NOT_DELEGATOR")
    if approver.pk == substitute.pk:
        raise ValidationFailed(_("Nobody can be their own substitute."), code="SELF_DELEGATION")
    if not substitute.is_active:
        raise ValidationFailed(_("The substitute is inactive."), code="INACTIVE_APPROVER")
    if getattr(substitute, "is_service_account", False):
        raise ValidationFailed(
            _("A service account cannot approve, so it cannot be a substitute."), code="SERVICE_ACCOUNT"
        )
    if end_date < start_date:
        raise ValidationFailed(
            _("The end date is before the start date."),
            code="INVALID_RANGE",
            details={"end_date": [_("Must not be before the start date.")]},
        )
    with transaction.atomic():
        delegation = ApprovalDelegation.objects.create(
            approver=approver,
            substitute=substitute,
            start_date=start_date,
            end_date=end_date,
            note=(note or "")[:255],
            created_by=actor,
        )
        audit_log(
            action=DelegationAction.CREATE,
            table="approval_delegations",
            record_id=delegation.pk,
            actor=actor,
            metadata={
                "approver": approver.pk,
                "substitute": substitute.pk,
                "start_date": start_date.isoformat(),
                "end_date": end_date.isoformat(),
            },
        )
    return delegation


def approval_delegation_delete(*, delegation: ApprovalDelegation, actor: User) -> None:
    if actor.pk != delegation.approver_id and not actor.is_owner:
        raise PermissionDeniedError(_("You can only end your own delegations."), code="NOT_DELEGATOR")
    with transaction.atomic():
        audit_log(
            action=DelegationAction.DELETE,
            table="approval_delegations",
            record_id=delegation.pk,
            actor=actor,
            metadata={"approver": delegation.approver_id, "substitute": delegation.substitute_id},
        )
        delegation.delete()
