"""Writes of the payments app that do not touch a PR's approval chain: the payment-method
registry, PR attachments and PR ↔ invoice links.

Everything that changes a PR's status or chain (create, update, delete, request, approve,
retract, reject, recall, complete, un-complete, bulk approve) lives in
`approvals.services`, because `approvals` sits above `payments` (docs/payments.md). Both
modules lock in the same order: the PR row first (`payment_request_lock`), then anything
that hangs off it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Sum
from django.utils.translation import gettext as _

from acountee.errors import Duplicate, InvalidState, NotFoundError, PermissionDeniedError, ValidationFailed
from payments.audit_actions import PaymentRequestContentAction as PRContentAction
from payments.models import (
    PaymentMethod,
    PaymentRequest,
    PaymentRequestPreparer,
    PaymentRequestStatus,
    PaymentRequestType,
    PRAttachment,
    PRInvoice,
)
from payments.selectors import last_paid_payee, payment_request_bank_details

if TYPE_CHECKING:
    from accounts.models import User
    from invoices.models import Invoice

_UNSET: Any = object()
PAYMENT_METHOD_FIELDS = ("name", "bank_name", "bank_account", "account_name", "note")


def audit(
    *, action: str, table: str, record_id: int | str, actor: User | None, metadata: dict[str, Any] | None = None
) -> None:
    """The semantic audit entry of an intent, in the caller's transaction."""
    from audit.services import audit_log

    audit_log(action=action, table=table, record_id=record_id, actor=actor, metadata=metadata or {})


# --- locking -------------------------------------------------------------------------------------
def payment_request_lock(*, pk: int | str) -> PaymentRequest:
    """Lock a PR row for the rest of the current transaction and return it fresh.

    Every PR transition starts here: the row lock serialises all writers of one PR, so state
    checks made after it are still true when the write happens. Lock order everywhere:
    PR → approval → steps/records; several PRs in ascending id order."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("payment_request_lock must be called inside transaction.atomic()")
    try:
        return PaymentRequest.objects.select_for_update(of=("self",)).select_related("maker").get(pk=pk)
    except (PaymentRequest.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(_("Payment request not found."), code="NOT_FOUND") from None


def ensure_status(pr: PaymentRequest, *allowed: str, action: str) -> None:
    if pr.status not in allowed:
        raise InvalidState(
            _("Cannot %(action)s a payment request that is %(status)s.")
            % {"action": action, "status": PaymentRequestStatus(pr.status).label},
            code="INVALID_STATE",
            details={"status": pr.status, "allowed": list(allowed)},
        )


def ensure_can_prepare(pr: PaymentRequest, actor: User | None, perm: str = "change") -> None:
    """Drafts are prepared by their maker or by finance staff holding the model permission."""
    if actor is None:
        return  # system processes (seed, imports) act on their own authority
    if pr.maker_id == actor.pk or actor.has_perm(f"payments.{perm}_paymentrequest"):
        return
    raise PermissionDeniedError(_("Only the maker or finance staff can do this."), code="NOT_MAKER")


# --- payment controls (docs/controls.md) ---------------------------------------------------------
def preparers_add(*, pr: PaymentRequest, users: list[Any], action: str) -> None:
    """Record `users` as preparers of `pr` (PREPARER-NEVER-APPROVES): whoever created it, changed
    its payee, amount, invoices or chain, or requested its approval. Idempotent; the first action
    of each person is kept. The caller holds the PR lock."""
    rows = [
        PaymentRequestPreparer(pr=pr, user_id=getattr(u, "pk", u), first_action=action)
        for u in dict.fromkeys(users)
        if u is not None
    ]
    if rows:
        PaymentRequestPreparer.objects.bulk_create(rows, ignore_conflicts=True)


def invoices_total(pr: PaymentRequest) -> Decimal | None:
    """The sum of the linked invoices' amounts payable; None when the request has no invoice."""
    result = PRInvoice.objects.filter(pr=pr).aggregate(total=Sum("invoice__total_payable"), n=Count("id"))
    if not result["n"]:
        return None
    return (result["total"] or Decimal(0)).quantize(Decimal("0.01"))


def payment_request_sync_amount(pr: PaymentRequest) -> None:
    """AMOUNT-FROM-INVOICES: a request backed by invoices is for exactly their total payable.
    A direct request without invoices is for nothing; an advanced one keeps its typed amount.
    Called after every change of its invoices (the caller holds the PR lock)."""
    total = invoices_total(pr)
    if total is None:
        if pr.type != PaymentRequestType.DIRECT:
            return
        total = Decimal(0)
    if total != pr.amount:
        pr.amount = total
        pr.save(update_fields=["amount", "updated_at"])


def payee_freeze(pr: PaymentRequest) -> None:
    """PAYEE-FROZEN and NEW-PAYEE-FLAGGED, at approval request: snapshot the account this request
    pays (the caller has checked there is exactly one and holds the PR and invoice locks) and
    compare it with what this supplier was paid before."""
    details = payment_request_bank_details(pr)
    tax_codes = sorted(
        {
            link.invoice.seller_tax_code
            for link in pr.invoice_links.all()  # prefetched with their invoices by request approval
            if link.invoice.seller_tax_code
        }
    )
    pr.payee_bank_name, pr.payee_bank_account, pr.payee_account_name = (
        details.bank_name,
        details.bank_account,
        details.account_name,
    )
    pr.payee_tax_code = tax_codes[0] if len(tax_codes) == 1 else ""
    paid_before, latest = last_paid_payee(tax_code=pr.payee_tax_code, bank_account=pr.payee_bank_account)
    pr.payee_is_new = not paid_before
    changed = latest is not None and latest.payee_bank_account != pr.payee_bank_account
    pr.previous_bank_name = latest.payee_bank_name if changed else ""  # type: ignore[union-attr]
    pr.previous_bank_account = latest.payee_bank_account if changed else ""  # type: ignore[union-attr]
    pr.previous_account_name = latest.payee_account_name if changed else ""  # type: ignore[union-attr]


PAYEE_FIELDS = (
    "payee_bank_name",
    "payee_bank_account",
    "payee_account_name",
    "payee_tax_code",
    "payee_is_new",
    "previous_bank_name",
    "previous_bank_account",
    "previous_account_name",
)


def payee_release(pr: PaymentRequest) -> None:
    """Back in draft (reject, recall) the request is being prepared again: the snapshot goes,
    and a new one is taken at the next approval request."""
    for name in PAYEE_FIELDS:
        setattr(pr, name, False if name == "payee_is_new" else "")


# --- payment methods ------------------------------------------------------------------------------
def _clean_payment_method_fields(fields: dict[str, Any]) -> dict[str, Any]:
    cleaned = {}
    for key, value in fields.items():
        if key not in PAYMENT_METHOD_FIELDS:
            raise ValidationFailed(_("Unknown field."), details={key: [_("Unknown field.")]})
        cleaned[key] = (value or "").strip()
    if "name" in cleaned and not cleaned["name"]:
        raise ValidationFailed(_("A name is required."), details={"name": [_("This field is required.")]})
    return cleaned


def payment_method_create(
    *,
    actor: User | None,
    name: str,
    bank_name: str = "",
    bank_account: str = "",
    account_name: str = "",
    note: str = "",
) -> PaymentMethod:
    fields = _clean_payment_method_fields(
        {"name": name, "bank_name": bank_name, "bank_account": bank_account, "account_name": account_name, "note": note}
    )
    with transaction.atomic():
        return PaymentMethod.objects.create(**fields)


def payment_method_update(*, method: PaymentMethod, actor: User | None, **fields: Any) -> PaymentMethod:
    cleaned = _clean_payment_method_fields(fields)
    with transaction.atomic():
        method = PaymentMethod.objects.select_for_update().get(pk=method.pk)
        for key, value in cleaned.items():
            setattr(method, key, value)
        method.save()
    return method


def payment_method_delete(*, method: PaymentMethod, actor: User | None) -> None:
    """Payment methods are only ever copied into invoices and PRs, so deleting one never
    changes a document."""
    with transaction.atomic():
        PaymentMethod.objects.filter(pk=method.pk).delete()


# --- attachments ----------------------------------------------------------------------------------
def payment_request_attachment_add(*, pr: PaymentRequest, file: Any, actor: User | None) -> PRAttachment:
    """Attach a stored file. Allowed in every state: supporting documents (contracts, the
    bank's transfer receipt) keep arriving after approval. Attaching the same file twice
    answers ALREADY_ATTACHED."""
    with transaction.atomic():
        pr = payment_request_lock(pk=pr.pk)
        ensure_can_prepare(pr, actor)
        if PRAttachment.objects.filter(pr=pr, file=file).exists():
            raise Duplicate(_("This file is already attached."), code="ALREADY_ATTACHED")
        try:
            with transaction.atomic():
                attachment = PRAttachment.objects.create(pr=pr, file=file, added_by=actor)
        except IntegrityError:
            raise Duplicate(_("This file is already attached."), code="ALREADY_ATTACHED") from None
        audit(
            action=PRContentAction.ATTACH_FILE,
            table="pr",
            record_id=pr.pk,
            actor=actor,
            metadata={"file_id": file.pk, "name": file.original_name},
        )
    return attachment


def payment_request_attachment_remove(*, pr: PaymentRequest, file_id: int, actor: User | None) -> None:
    """Detach a file (the file itself stays in the store). Only in draft: once a PR is
    submitted, its documents are what the approvers saw."""
    with transaction.atomic():
        pr = payment_request_lock(pk=pr.pk)
        ensure_can_prepare(pr, actor)
        attachment = PRAttachment.objects.filter(pr=pr, file_id=file_id).first()
        if attachment is None:
            raise NotFoundError(_("This file is not attached to the payment request."), code="NOT_FOUND")
        ensure_status(pr, PaymentRequestStatus.DRAFT, action=_("remove an attachment from"))
        attachment.delete()
        audit(
            action=PRContentAction.DETACH_FILE, table="pr", record_id=pr.pk, actor=actor, metadata={"file_id": file_id}
        )


# --- invoice links ---------------------------------------------------------------------------------
# Invoices are bundled while a PR is a draft: once submitted, the invoices are part of what the
# approvers approve, so adding, removing or moving one needs the PR(s) back in draft. Lock order:
# PR rows (ascending id) → invoice row → link row.
def _lock_invoice(invoice_id: int) -> Any:
    from invoices.models import Invoice

    try:
        return Invoice.objects.select_for_update().get(pk=invoice_id)
    except (Invoice.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(_("Invoice not found."), code="INVOICE_NOT_FOUND") from None


def _ensure_linkable(invoice: Invoice) -> None:
    from invoices.models import InvoiceStatus

    if invoice.status != InvoiceStatus.IMPORTED:
        raise InvalidState(
            _("Invoice %(number)s is %(status)s: it cannot be put in a payment request.")
            % {"number": invoice.number, "status": InvoiceStatus(invoice.status).label},
            code="INVALID_STATE",
            details={"invoice": invoice.pk, "status": invoice.status},
        )


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
        preparers_add(pr=pr, users=[actor, *(locked.payment_details_changed_by or [])], action="link_invoice")
        payment_request_sync_amount(pr)
        audit(
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
            preparers_add(pr=pr, users=[actor], action="unlink_invoice")
            payment_request_sync_amount(pr)
            audit(
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
            for each in (source, target):
                preparers_add(pr=each, users=[actor], action="move_invoice")
            preparers_add(pr=target, users=locked.payment_details_changed_by or [], action="move_invoice")
            for each in (source, target):
                payment_request_sync_amount(each)
            audit(
                action=PRContentAction.MOVE_INVOICE,
                table="pr",
                record_id=target.pk,
                actor=actor,
                metadata={"invoice": locked.pk, "from_pr": source.pk, "to_pr": target.pk},
            )
            return current
    raise InvalidState(_("The invoice keeps changing payment request; try again."), code="CONFLICT")
