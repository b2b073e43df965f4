"""Request approval: the amount, payee and chain are fixed (docs/controls.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.utils.translation import gettext as _

from acountee.errors import ConflictError, InvalidState
from approvals import services as engine
from audit.models import SecurityEventKind
from audit.services import audit_log, security_event_record
from invoices.selectors import invoice_payment_eligibility
from payments import events
from payments.audit_actions import PaymentRequestAction as PRAction
from payments.models import PaymentRequest, PaymentRequestType, PRInvoice
from payments.selectors import normalise_account, payment_request_bank_details, preparer_ids
from payments.services.common import (
    S,
    ensure_can_prepare,
    ensure_status,
    linked_invoices,
    lock_approval,
    payee_freeze,
    payment_request_lock,
    payment_request_sync_amount,
    preparers_add,
)

if TYPE_CHECKING:
    from accounts.models import User

# --- request approvals ------------------------------------------------------------------------------
MIN_ADVANCED_DOCUMENTS = 1


def _ensure_ready_for_approval(pr: PaymentRequest) -> None:
    """What the request must hold before it goes to its approvers. Each refusal is about the request's
    state, not the call (which has no body): 409, fixed by changing the request (docs/API.md, "Status codes")."""
    if pr.type == PaymentRequestType.ADVANCED:
        if not (pr.bank_account and pr.account_name):
            raise InvalidState(
                _("An advanced payment request needs a bank account and account holder name."),
                code="MISSING_BANK_DETAILS",
            )
        # ADVANCED-NEEDS-EVIDENCE: with no invoice behind a typed amount, approvers need a document.
        if not pr.invoice_links.all() and pr.attachments.count() < MIN_ADVANCED_DOCUMENTS:
            raise InvalidState(
                _(
                    "A payment request without invoices needs a supporting document (contract, "
                    "quotation, advance request) attached before approval is requested."
                ),
                code="NO_SUPPORTING_DOCUMENT",
            )
        # PAYEE-FROZEN: invoices are paid to the account they name, not to one typed beside them.
        named = {normalise_account(link.invoice.payment_bank_account) for link in pr.invoice_links.all()} - {""}
        if named and named != {normalise_account(pr.bank_account)}:
            raise InvalidState(
                _(
                    "This request pays account %(account)s, but its invoices name %(named)s: make it a direct "
                    "request (paid as the invoices say) or take the invoices out."
                )
                % {"account": normalise_account(pr.bank_account), "named": ", ".join(sorted(named))},
                code="BANK_DETAILS_CONFLICT",
                details={"bank_account": normalise_account(pr.bank_account), "invoice_accounts": sorted(named)},
            )
    if pr.type == PaymentRequestType.DIRECT:
        if not pr.invoice_links.all():
            raise InvalidState(_("A direct payment request needs at least one invoice."), code="NO_INVOICES")
        details = payment_request_bank_details(pr)
        if details.conflict:
            raise InvalidState(
                _(
                    "The invoices name different bank accounts: split them into separate "
                    "requests or use an advanced request."
                ),
                code="BANK_DETAILS_CONFLICT",
                details={"candidates": details.candidates},
            )
        if details.missing:
            raise InvalidState(
                _("An invoice of this request names no bank account: fill in its payment details first."),
                code="MISSING_BANK_DETAILS",
                details={"candidates": details.candidates},
            )
    if pr.amount <= 0:
        raise InvalidState(_("The amount must be greater than zero."), code="INVALID_AMOUNT")
    # AUTHENTIC-INVOICES-ONLY: an invoice found refused after it was linked (verify_invoice_signatures checks
    # invoices imported before verification) is not sent for approval either.
    for link in pr.invoice_links.all():
        invoice_payment_eligibility(invoice=link.invoice).raise_if_refused(link.invoice)


def payment_request_request_approval(*, pr: PaymentRequest, actor: User | None) -> PaymentRequest:
    """draft → pending: the amount, payee and chain are fixed now (docs/controls.md); the first
    step's approvers are told."""
    with transaction.atomic():
        pr = payment_request_lock(pk=pr.pk)
        ensure_can_prepare(pr, actor)
        if pr.status in (S.PENDING, S.APPROVED):
            raise ConflictError(_("Approval has already been requested."), code="ALREADY_REQUESTED")
        ensure_status(pr, S.DRAFT, action=_("request approval for"))
        approval = lock_approval(pr)
        invoices = linked_invoices(pr)  # locked: their payment details cannot change under us
        # Read the links once for every check below (bank details, the payee snapshot): the PR and
        # invoice locks keep them as read.
        prefetch_related_objects(
            [pr], Prefetch("invoice_links", queryset=PRInvoice.objects.select_related("invoice").order_by("id"))
        )
        payment_request_sync_amount(pr)
        preparers_add(pr=pr, users=[actor], action="request_approval")
        editors = [user for i in invoices for user in i.payment_details_changed_by or []]
        preparers_add(pr=pr, users=editors, action="change_payee")
        preparers = preparer_ids([pr.pk])[pr.pk]
        _ensure_ready_for_approval(pr)
        steps = engine.chain_fix(approval, amount=pr.amount, preparers=preparers)
        payee_freeze(pr)
        pr.status = S.PENDING
        # The rejection this draft answered is answered: the page stops showing it (the log keeps it).
        pr.rejection_reason, pr.rejected_at, pr.rejected_by = "", None, None
        pr.save()
        engine.chain_start(approval, steps[0])
        audit_log(
            action=PRAction.REQUEST_APPROVAL,
            table="pr",
            record_id=pr.pk,
            actor=actor,
            metadata={
                "steps": [engine.step_snapshot(s) for s in steps],
                "amount": str(pr.amount),
                "flow": approval.flow_id,
                "custom": approval.is_custom,
                "payee": {
                    "bank_account": pr.payee_bank_account,
                    "account_name": pr.payee_account_name,
                    "tax_code": pr.payee_tax_code,
                    "new": pr.payee_is_new,
                },
            },
        )
        if pr.payee_is_new:
            security_event_record(
                kind=SecurityEventKind.NEW_PAYEE,
                user=actor,
                details={
                    "pr": pr.pk,
                    "bank_account": pr.payee_bank_account,
                    "account_name": pr.payee_account_name,
                    "tax_code": pr.payee_tax_code,
                    "previous_bank_account": pr.previous_bank_account,
                },
            )
        events.approvals_requested(pr, steps[0])
    return pr
