"""Back to draft: reject (an approver, with a reason) and recall (the maker)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from acountee.errors import NotFoundError, PermissionDeniedError, ValidationFailed
from approvals import services as engine
from audit.services import audit_log
from payments import events
from payments.audit_actions import PaymentRequestAction as PRAction
from payments.models import PaymentRequest
from payments.services.common import S, ensure_status, lock_approval, payee_release, payment_request_lock
from payments.services.decisions import payment_requests_read_locked

if TYPE_CHECKING:
    from accounts.models import User
    from approvals.models import Approval


# --- reject / recall -----------------------------------------------------------------------------
def _back_to_draft(pr: PaymentRequest, approval: Approval) -> list[dict[str, Any]]:
    cleared = engine.chain_reset(approval)
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
        # The chain read the way approve reads it (the PR, then its chain, locked).
        readings = payment_requests_read_locked([int(pr.pk)])
        if not readings:
            raise NotFoundError(_("Payment request not found."), code="NOT_FOUND")
        pr, chain = readings[0].pr, readings[0].chain
        ensure_status(pr, S.PENDING, action=_("reject"))
        step_number = engine.ensure_current_approver(chain, actor).number
        assert chain is not None  # ensure_current_approver refuses a request without its chain
        approval = chain.approval
        # On the row, for the maker's page (saved with the status by _back_to_draft).
        pr.rejection_reason, pr.rejected_at, pr.rejected_by = reason, timezone.now(), actor
        cleared = _back_to_draft(pr, approval)
        audit_log(
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
        events.pr_recalled(pr, step_number)
        audit_log(
            action=PRAction.RECALL,
            table="pr",
            record_id=pr.pk,
            actor=actor,
            metadata={"step": step_number, "cleared_records": cleared},
        )
    return pr
