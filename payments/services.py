"""Writes of the payments app that do not touch a PR's approval chain: the payment-method
registry, PR attachments and PR ↔ invoice links.

Everything that changes a PR's status or chain (create, update, delete, request, approve,
retract, reject, recall, complete, un-complete, bulk approve) lives in
`approvals.services`, because `approvals` sits above `payments` (docs/payments.md). Both
modules lock in the same order: the PR row first (`payment_request_lock`), then anything
that hangs off it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from acountee.errors import Duplicate, InvalidState, NotFoundError, PermissionDeniedError, ValidationFailed
from payments.models import PaymentMethod, PaymentRequest, PaymentRequestStatus, PRAttachment

if TYPE_CHECKING:
    from accounts.models import User

_UNSET: Any = object()
PAYMENT_METHOD_FIELDS = ("name", "bank_name", "bank_account", "account_name", "note")


def audit(*, action: str, table: str, record_id: int | str, actor: User | None,
          metadata: dict[str, Any] | None = None) -> None:
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


def payment_method_create(*, actor: User | None, name: str, bank_name: str = "", bank_account: str = "",
                          account_name: str = "", note: str = "") -> PaymentMethod:
    fields = _clean_payment_method_fields(
        {"name": name, "bank_name": bank_name, "bank_account": bank_account, "account_name": account_name,
         "note": note}
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
        audit(action="attach_file", table="pr", record_id=pr.pk, actor=actor,
              metadata={"file_id": file.pk, "name": file.original_name})
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
        audit(action="detach_file", table="pr", record_id=pr.pk, actor=actor, metadata={"file_id": file_id})
