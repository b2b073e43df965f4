"""Back to draft: reject (an approver, with a reason) and recall (the maker)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from acountee.errors import (
    NotFoundError,
    PermissionDeniedError,
    ValidationFailed,
)
from approvals import events
from approvals.audit_actions import PaymentRequestAction as PRAction
from approvals.models import (
    Approval,
    ApprovalRecord,
)
from approvals.services.common import S, lock_approval
from approvals.services.decisions import Delegators, load_chains
from payments.models import PaymentRequest
from payments.services import (
    audit,
    ensure_status,
    payee_release,
    payment_request_lock,
)

if TYPE_CHECKING:
    from accounts.models import User


# --- reject / recall -----------------------------------------------------------------------------
def _back_to_draft(pr: PaymentRequest, approval: Approval) -> list[dict[str, Any]]:
    cleared = [
        {"step": number, "approver": approver, "acted_by": acted_by, "approved_at": at.isoformat()}
        for number, approver, acted_by, at in ApprovalRecord.objects.filter(approval=approval)
        .order_by("id")
        .values_list("step__number", "approver_id", "acted_by_id", "approved_at")
    ]
    ApprovalRecord.objects.filter(approval=approval).delete()
    approval.current_step = 0
    approval.save(update_fields=["current_step", "updated_at"])
    pr.status = S.DRAFT
    payee_release(pr)
    pr.save()
    return cleared


def payment_request_reject(*, pr: PaymentRequest, actor: User, reason: str) -> PaymentRequest:
    """An approver of the current step (or their substitute) sends the PR back to draft with
    a reason; all approvals are cleared (the audit log keeps them) and the maker is told."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            _("A reason is required to reject."),
            code="REASON_REQUIRED",
            details={"reason": [_("This field is required.")]},
        )
    if len(reason) > 2000:
        raise ValidationFailed(_("The reason is too long."), details={"reason": [_("At most 2000 characters.")]})
    with transaction.atomic():
        # The chain read the way approve reads it (load_chains: PR, then approval, locked).
        chains = load_chains([int(pr.pk)])
        if not chains:
            raise NotFoundError(_("Payment request not found."), code="NOT_FOUND")
        pr, approval = chains[0].pr, chains[0].approval
        ensure_status(pr, S.PENDING, action=_("reject"))
        current = chains[0].steps.get(approval.current_step) if approval is not None else None
        approver_ids = chains[0].approvers.get(current.pk, []) if current is not None else []
        if actor.pk not in approver_ids and not Delegators(actor).among(approver_ids):
            raise PermissionDeniedError(_("You are not an approver of the current step."), code="NOT_AN_APPROVER")
        assert approval is not None  # a pending request has its chain (the status check above)
        step_number = approval.current_step
        # On the row, for the maker's page (saved with the status by _back_to_draft).
        pr.rejection_reason, pr.rejected_at, pr.rejected_by = reason, timezone.now(), actor
        cleared = _back_to_draft(pr, approval)
        audit(
            action=PRAction.REJECT,
            table="pr",
            record_id=pr.pk,
            actor=actor,
            metadata={"reason": reason, "step": step_number, "cleared_records": cleared},
        )
        events.pr_rejected(pr, reason)
    return pr


def payment_request_recall(*, pr: PaymentRequest, actor: User) -> PaymentRequest:
    """The maker pulls a pending PR back to draft (to fix it); approvals are cleared."""
    with transaction.atomic():
        pr = payment_request_lock(pk=pr.pk)
        if pr.maker_id != actor.pk:
            raise PermissionDeniedError(_("Only the maker can recall a payment request."), code="NOT_MAKER")
        ensure_status(pr, S.PENDING, action=_("recall"))
        approval = lock_approval(pr)
        step_number = approval.current_step
        cleared = _back_to_draft(pr, approval)
        audit(
            action=PRAction.RECALL,
            table="pr",
            record_id=pr.pk,
            actor=actor,
            metadata={"step": step_number, "cleared_records": cleared},
        )
    return pr
