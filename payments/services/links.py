"""Which invoices a draft payment request pays: link, unlink, move."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from acountee.errors import Duplicate, InvalidState, NotFoundError
from audit.services import audit_log
from payments import events
from payments.audit_actions import PaymentRequestContentAction as PRContentAction
from payments.models import PaymentRequest, PaymentRequestStatus, PRInvoice
from payments.services.common import (
    ensure_can_prepare,
    ensure_status,
    payment_request_lock,
    payment_request_sync_amount,
    preparers_add,
)

if TYPE_CHECKING:
    from accounts.models import User
    from invoices.models import Invoice


# --- invoice links ---------------------------------------------------------------------------------
# Invoices are bundled while a PR is a draft: once submitted, the invoices are part of what the
# approvers approve, so adding, removing or moving one needs the PR(s) back in draft. Lock order:
# PR rows (ascending id) → invoice row → link row.
def _touch_invoices(ids: list[int]) -> None:
    from invoices.services import invoices_touch

    invoices_touch(invoice_ids=ids)


def _lock_invoice(invoice_id: int) -> Any:
    from invoices.models import Invoice

    try:
        return Invoice.objects.select_for_update().get(pk=invoice_id)
    except (Invoice.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(_("Invoice not found."), code="INVOICE_NOT_FOUND") from None


def _ensure_linkable(invoice: Invoice) -> None:
    """Imported, and authentic (AUTHENTIC-INVOICES-ONLY: a failed signature check refuses it until an owner
    overrides it; the invoice row is locked and read, so this costs no query)."""
    from invoices.models import InvoiceStatus
    from invoices.selectors import invoice_payment_eligibility

    if invoice.status != InvoiceStatus.IMPORTED:
        raise InvalidState(
            _("Invoice %(number)s is %(status)s: it cannot be put in a payment request.")
            % {"number": invoice.number, "status": InvoiceStatus(invoice.status).label},
            code="INVALID_STATE",
            details={"invoice": invoice.pk, "status": invoice.status},
        )
    invoice_payment_eligibility(invoice=invoice).raise_if_refused(invoice)


def _current_link(invoice_id: int, *, lock: bool = False) -> PRInvoice | None:
    qs = PRInvoice.objects.filter(invoice_id=invoice_id)
    if lock:
        qs = qs.select_for_update()
    return qs.first()


def invoice_link(*, invoice: Invoice, pr: PaymentRequest, actor: User | None) -> PRInvoice:
    """Put an imported invoice into a draft PR. An invoice already in a PR is refused
    (INVOICE_ALREADY_LINKED: move it instead); the unique constraint on `pr_invoice.invoice`
    is the last word when two people link the same invoice at once."""
    with transaction.atomic():
        pr = payment_request_lock(pk=pr.pk)
        ensure_can_prepare(pr, actor)
        ensure_status(pr, PaymentRequestStatus.DRAFT, action=_("add an invoice to"))
        locked = _lock_invoice(invoice.pk)
        existing = _current_link(locked.pk)
        if existing is not None:
            if existing.pr_id == pr.pk:
                raise Duplicate(_("The invoice is already in this payment request."), code="ALREADY_LINKED")
            raise Duplicate(
                _("The invoice is already in payment request #%(pr)d: move it instead.") % {"pr": existing.pr_id},
                code="INVOICE_ALREADY_LINKED",
                details={"pr": existing.pr_id},
            )
        _ensure_linkable(locked)
        try:
            with transaction.atomic():
                link = PRInvoice.objects.create(pr=pr, invoice=locked, linked_by=actor)
        except IntegrityError:
            raise Duplicate(_("The invoice is already in a payment request."), code="INVOICE_ALREADY_LINKED") from None
        _touch_invoices([locked.pk])
        preparers_add(pr=pr, users=[actor, *(locked.payment_details_changed_by or [])], action="link_invoice")
        payment_request_sync_amount(pr)
        events.pr_changed(pr)
        audit_log(
            action=PRContentAction.LINK_INVOICE,
            table="pr",
            record_id=pr.pk,
            actor=actor,
            metadata={"invoice": locked.pk},
        )
    return link


def invoice_unlink(*, invoice: Invoice, actor: User | None) -> PaymentRequest:
    """Take an invoice out of its (draft) PR; it becomes free to link again."""
    for _attempt in range(3):
        link = _current_link(invoice.pk)
        if link is None:
            raise InvalidState(_("The invoice is not in a payment request."), code="NOT_LINKED")
        with transaction.atomic():
            pr = payment_request_lock(pk=link.pr_id)
            _lock_invoice(invoice.pk)
            link = _current_link(invoice.pk, lock=True)
            if link is None or link.pr_id != pr.pk:
                continue  # moved or unlinked meanwhile: look again
            ensure_can_prepare(pr, actor)
            ensure_status(pr, PaymentRequestStatus.DRAFT, action=_("remove an invoice from"))
            link.delete()
            _touch_invoices([invoice.pk])
            preparers_add(pr=pr, users=[actor], action="unlink_invoice")
            payment_request_sync_amount(pr)
            events.pr_changed(pr)
            audit_log(
                action=PRContentAction.UNLINK_INVOICE,
                table="pr",
                record_id=pr.pk,
                actor=actor,
                metadata={"invoice": invoice.pk},
            )
            return pr
    raise InvalidState(_("The invoice keeps changing payment request; try again."), code="CONFLICT")


def invoice_move(*, invoice: Invoice, pr: PaymentRequest, actor: User | None) -> PRInvoice:
    """Move an invoice from its draft PR to another draft PR in one transaction: it is never
    in both, nor in neither."""
    for _attempt in range(3):
        link = _current_link(invoice.pk)
        if link is None:
            raise InvalidState(_("The invoice is not in a payment request: link it instead."), code="NOT_LINKED")
        if link.pr_id == pr.pk:
            raise Duplicate(_("The invoice is already in this payment request."), code="ALREADY_LINKED")
        with transaction.atomic():
            locked_prs = {p: payment_request_lock(pk=p) for p in sorted({link.pr_id, pr.pk})}
            source, target = locked_prs[link.pr_id], locked_prs[pr.pk]
            locked = _lock_invoice(invoice.pk)
            current = _current_link(invoice.pk, lock=True)
            if current is None or current.pr_id != source.pk:
                continue
            for each in (source, target):
                ensure_can_prepare(each, actor)
                ensure_status(each, PaymentRequestStatus.DRAFT, action=_("move an invoice between"))
            _ensure_linkable(locked)
            current.pr = target
            current.linked_by = actor
            current.save(update_fields=["pr", "linked_by"])
            _touch_invoices([locked.pk])
            for each in (source, target):
                preparers_add(pr=each, users=[actor], action="move_invoice")
            preparers_add(pr=target, users=locked.payment_details_changed_by or [], action="move_invoice")
            for each in (source, target):
                payment_request_sync_amount(each)
                events.pr_changed(each)
            audit_log(
                action=PRContentAction.MOVE_INVOICE,
                table="pr",
                record_id=target.pk,
                actor=actor,
                metadata={"invoice": locked.pk, "from_pr": source.pk, "to_pr": target.pk},
            )
            return current
    raise InvalidState(_("The invoice keeps changing payment request; try again."), code="CONFLICT")
