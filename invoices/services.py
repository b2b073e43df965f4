"""Every write to invoices: import, lifecycle transitions, payment details.

Transitions follow `INVOICE_TRANSITIONS`, each inside one transaction with the row locked
(`select_for_update`) and the state re-checked under the lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from acountee.errors import InvalidState, NotFoundError, NotOwner, ValidationFailed
from invoices.audit_actions import InvoiceAction
from invoices.importing import Importer, ImportReport
from invoices.models import INVOICE_TRANSITIONS, Invoice, InvoiceStatus, PaymentType, SignatureStatus
from invoices.signals import invoice_marked_obsolete

if TYPE_CHECKING:
    from accounts.models import User

PAYMENT_DETAIL_FIELDS = ("payment_type", "payment_bank_name", "payment_bank_account", "payment_account_name")


def _audit(
    *, action: InvoiceAction, invoice_id: int, actor: User | None, metadata: dict[str, Any] | None = None
) -> None:
    from audit.services import audit_log

    audit_log(action=action, table="invoices", record_id=invoice_id, actor=actor, metadata=metadata or {})


def _acting(actor: Any) -> Any:
    from contextlib import nullcontext

    from audit import context

    return context.acting_as(actor) if getattr(actor, "pk", None) is not None else nullcontext()


# --- import ---------------------------------------------------------------------------------------


def invoices_import(
    *,
    uploads: Iterable[tuple[str, bytes | IO[bytes]]],
    actor: User | None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Imports XML files and ZIP archives of them. Never raises for bad input: each entry's
    result (`success`, `skipped`, `failure` with a reason) is in the report; each upload gets
    one semantic audit entry `import`."""
    with _acting(actor):
        return Importer(actor=actor, progress=progress).run(uploads)


# --- linked to a payment request (the relation lives in payments; we only read it) ---------------


def pr_link_available() -> bool:
    return any(f.name == "pr_link" for f in Invoice._meta.get_fields())


def invoice_ids_linked(ids: Iterable[int]) -> set[int]:
    ids = list(ids)
    if not ids or not pr_link_available():
        return set()
    return set(Invoice.objects.filter(pk__in=ids, pr_link__isnull=False).values_list("pk", flat=True))


# --- transitions ----------------------------------------------------------------------------------


def _check_transition(invoice: Invoice, target: str) -> None:
    if target not in INVOICE_TRANSITIONS.get(invoice.status, frozenset()):
        raise InvalidState(
            _("Invoice %(number)s is %(status)s: it cannot become %(target)s.")
            % {
                "number": invoice.number,
                "status": InvoiceStatus(invoice.status).label,
                "target": InvoiceStatus(target).label,
            },
            details={"id": invoice.pk, "status": invoice.status},
        )


def _locked(invoice_id: int) -> Invoice:
    try:
        return Invoice.objects.select_for_update().get(pk=invoice_id)
    except Invoice.DoesNotExist:
        raise NotFoundError(_("Invoice not found."), code="INVOICE_NOT_FOUND") from None


def invoice_mark_obsolete(*, invoice: Invoice, actor: User | None) -> Invoice:
    """imported → redundant ("obsolete"). Refused for completed invoices and for invoices in
    a payment request (unlink first)."""
    with _acting(actor), transaction.atomic():
        locked = _locked(invoice.pk)
        if locked.status == InvoiceStatus.REDUNDANT:
            raise InvalidState(_("The invoice is already obsolete."), details={"id": locked.pk})
        _check_transition(locked, InvoiceStatus.REDUNDANT)
        if invoice_ids_linked([locked.pk]):
            raise InvalidState(
                _("The invoice is in a payment request: remove it from the request first."),
                code="INVOICE_LINKED",
                details={"id": locked.pk},
            )
        locked.status = InvoiceStatus.REDUNDANT
        locked.save(update_fields=["status", "updated_at"])
        _audit(action=InvoiceAction.MARK_OBSOLETE, invoice_id=locked.pk, actor=actor)
        invoice_marked_obsolete.send(sender=Invoice, invoice=locked)  # in this transaction (invoices/signals.py)
        return locked


def invoice_restore(*, invoice: Invoice, actor: User | None) -> Invoice:
    """redundant → imported."""
    with _acting(actor), transaction.atomic():
        locked = _locked(invoice.pk)
        if locked.status != InvoiceStatus.REDUNDANT:
            raise InvalidState(_("Only obsolete invoices can be restored."), details={"id": locked.pk})
        _check_transition(locked, InvoiceStatus.IMPORTED)
        locked.status = InvoiceStatus.IMPORTED
        locked.save(update_fields=["status", "updated_at"])
        _audit(action=InvoiceAction.RESTORE, invoice_id=locked.pk, actor=actor)
        return locked


def _bulk(fn: Callable[..., Invoice], ids: Iterable[int], actor: User | None) -> dict[str, list[Any]]:
    done: list[int] = []
    failed: list[dict[str, Any]] = []
    for invoice_id in dict.fromkeys(ids):
        try:
            fn(invoice=Invoice(pk=invoice_id), actor=actor)
        except (InvalidState, NotFoundError) as exc:
            failed.append({"id": invoice_id, "code": exc.code, "message": str(exc.message)})
        else:
            done.append(invoice_id)
    return {"done": done, "failed": failed}


def invoices_bulk_mark_obsolete(*, ids: Iterable[int], actor: User | None) -> dict[str, list[Any]]:
    """Each invoice in its own transaction: one refusal never blocks the others."""
    return _bulk(invoice_mark_obsolete, ids, actor)


def invoices_bulk_restore(*, ids: Iterable[int], actor: User | None) -> dict[str, list[Any]]:
    return _bulk(invoice_restore, ids, actor)


def invoices_touch(*, invoice_ids: Iterable[int]) -> None:
    """These invoices changed in a way their own row does not show (linked to, unlinked from or moved between
    payment requests: the list's `pr`): bump `updated_at` so `?updated_since=` lists them (docs/API.md). Inside
    the caller's transaction, which holds the invoice rows locked."""
    ids = sorted(set(invoice_ids))
    if ids:
        Invoice.objects.filter(pk__in=ids).update(updated_at=timezone.now())


def invoices_mark_completed(*, invoices: Iterable[Invoice], actor: User | None) -> list[Invoice]:
    """imported → completed, for the payments app when a PR is completed. Runs in the
    caller's transaction (atomic here is a savepoint when one is open)."""
    return _transition_many(invoices, InvoiceStatus.COMPLETED, InvoiceAction.COMPLETE, actor)


def invoices_mark_reopened(*, invoices: Iterable[Invoice], actor: User | None) -> list[Invoice]:
    """completed → imported, when a completed PR is un-completed."""
    return _transition_many(
        invoices, InvoiceStatus.IMPORTED, InvoiceAction.REOPEN, actor, source=InvoiceStatus.COMPLETED
    )


def _transition_many(
    invoices: Iterable[Invoice],
    target: str,
    action: InvoiceAction,
    actor: User | None,
    source: str | None = None,
) -> list[Invoice]:
    ids = [inv.pk for inv in invoices]
    with _acting(actor), transaction.atomic():
        locked = list(Invoice.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
        if len(locked) != len(set(ids)):
            raise NotFoundError(_("Invoice not found."), code="INVOICE_NOT_FOUND")
        for invoice in locked:
            if invoice.status == target:
                continue
            if source is not None and invoice.status != source:
                raise InvalidState(
                    _("Invoice %(number)s is %(status)s.")
                    % {"number": invoice.number, "status": InvoiceStatus(invoice.status).label},
                    details={"id": invoice.pk, "status": invoice.status},
                )
            _check_transition(invoice, target)
        changing = [inv.pk for inv in locked if inv.status != target]
        if changing:
            Invoice.objects.filter(pk__in=changing).update(status=target, updated_at=timezone.now())
            for pk in changing:
                _audit(action=action, invoice_id=pk, actor=actor)
        for invoice in locked:
            invoice.status = target
        return locked


# --- payment details ------------------------------------------------------------------------------


def _ensure_payee_not_frozen(invoice: Invoice) -> None:
    """PAYEE-FROZEN (docs/controls.md): once the request paying this invoice is submitted, where
    the invoice is paid is what its approvers approve. Read after the invoice lock: a request
    being submitted at the same moment locks its invoices, so one of the two waits for the other."""
    if not pr_link_available():
        return
    # The request's states belong to payments (above us): only "draft" is spelled here.
    row = (
        Invoice.objects.filter(pk=invoice.pk, pr_link__isnull=False)
        .values_list("pr_link__pr_id", "pr_link__pr__status")
        .first()
    )
    if row is not None and row[1] != "draft":
        raise InvalidState(
            _(
                "Invoice %(number)s is in payment request #%(pr)d, which has been submitted for approval: its "
                "payment details are frozen. Recall the request (or have it rejected) to change them."
            )
            % {"number": invoice.number, "pr": row[0]},
            code="PAYEE_FROZEN",
            details={"id": invoice.pk, "pr": row[0]},
        )


def _char_max_length(name: str) -> int:
    """The length limit of one of the invoice's text fields (the payment details are all CharFields)."""
    field = Invoice._meta.get_field(name)
    assert isinstance(field, models.CharField) and field.max_length is not None  # narrows the type
    return field.max_length


def invoice_payment_details_update(*, invoice: Invoice, actor: User | None, **changes: Any) -> Invoice:
    """Edits how the invoice is paid (prefilled from the seller's bank fields at import)."""
    unknown = set(changes) - set(PAYMENT_DETAIL_FIELDS)
    if unknown:
        raise ValidationFailed(details={name: [_("Unknown field.")] for name in sorted(unknown)})
    if "payment_type" in changes and changes["payment_type"] not in ("", *PaymentType.values):
        raise ValidationFailed(details={"payment_type": [_("Not a valid payment type.")]})
    with _acting(actor), transaction.atomic():
        locked = _locked(invoice.pk)
        if locked.status == InvoiceStatus.COMPLETED:
            raise InvalidState(
                _("The invoice is completed: its payment details can no longer change."), details={"id": locked.pk}
            )
        _ensure_payee_not_frozen(locked)
        before = {name: getattr(locked, name) for name in changes}
        for name, value in changes.items():
            setattr(locked, name, (value or "").strip())
        if locked.payment_type == PaymentType.BANK_TRANSFER and not locked.payment_bank_account:
            raise ValidationFailed(details={"payment_bank_account": [_("A bank transfer needs a bank account.")]})
        too_long = {
            name: [_("At most %(n)s characters.") % {"n": _char_max_length(name)}]
            for name in changes
            if len(getattr(locked, name)) > _char_max_length(name)
        }
        if too_long:
            raise ValidationFailed(details=too_long)
        editor, editors = getattr(actor, "pk", None), locked.payment_details_changed_by or []
        if editor is not None and editor not in editors:
            locked.payment_details_changed_by = [*editors, editor]
        locked.save(update_fields=[*changes, "payment_details_changed_by", "updated_at"])
        _audit(
            action=InvoiceAction.UPDATE_PAYMENT_DETAILS,
            invoice_id=locked.pk,
            actor=actor,
            metadata={"before": before, "after": {name: getattr(locked, name) for name in changes}},
        )
        return locked


# --- signature override ---------------------------------------------------------------------------

SIGNATURE_OVERRIDE_REASON_MAX = 1000


def invoice_signature_override(*, invoice: Invoice, actor: User | None, reason: str) -> Invoice:
    """An owner lets an invoice that fails the signature check (invoices.selectors.invoice_payment_eligibility)
    be put in a payment request all the same, saying why. Only owners; a reason is required; refused when
    there is nothing to override. Audited (`override_signature`, with the reason and the outcomes overridden)."""
    from invoices.selectors import invoice_payment_eligibility

    if actor is None or not getattr(actor, "is_owner", False):
        raise NotOwner(_("Only owners can override a failed signature check."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(details={"reason": [_("Say why this invoice may be paid despite its signature.")]})
    if len(reason) > SIGNATURE_OVERRIDE_REASON_MAX:
        raise ValidationFailed(
            details={"reason": [_("At most %(n)s characters.") % {"n": SIGNATURE_OVERRIDE_REASON_MAX}]}
        )
    with _acting(actor), transaction.atomic():
        locked = _locked(invoice.pk)
        verdict = invoice_payment_eligibility(invoice=locked)
        if not verdict.code:
            raise InvalidState(
                _("Invoice %(number)s passes the signature check: there is nothing to override.")
                % {"number": locked.number},
                details={"id": locked.pk},
            )
        if verdict.overridden:
            raise InvalidState(
                _("The signature check of this invoice is already overridden."), details={"id": locked.pk}
            )
        locked.signature_override_reason = reason
        locked.signature_override_by = actor
        locked.signature_override_at = timezone.now()
        locked.save(
            update_fields=["signature_override_reason", "signature_override_by", "signature_override_at", "updated_at"]
        )
        _audit(
            action=InvoiceAction.OVERRIDE_SIGNATURE,
            invoice_id=locked.pk,
            actor=actor,
            metadata={
                "reason": reason,
                "refusal": verdict.code,
                "seller_signature": locked.seller_signature,
                "tax_authority_signature": locked.tax_authority_signature,
                "seller_certificate_tax_code": locked.seller_certificate_tax_code,
            },
        )
        return locked


# --- signatures checked again ---------------------------------------------------------------------------


@dataclass
class SignatureRecheck:
    """What `invoices_verify_signatures` did: how many invoices it checked, which changed, and which of
    those may no longer be paid (with the request each is in, if any)."""

    checked: int = 0
    changed: list[int] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)  # id, message, code, pr
    missing_file: list[int] = field(default_factory=list)


def invoices_verify_signatures(
    *, ids: Iterable[int] | None = None, everything: bool = False, actor: User | None = None, batch_size: int = 100
) -> SignatureRecheck:
    """Checks the signatures of stored invoices again, from their source files, as the import would today
    (docs/invoices.md, "Signatures"): by default those imported before verification existed or while it was
    off (`unchecked`); `everything` (e.g. once a trust store is configured) or the given `ids`.

    Each batch is one transaction with its rows locked. Only invoices whose outcome changed are written,
    each with a semantic `verify_signatures` entry (before and after). An owner's override is withdrawn when
    the outcome it was given for changes: it was a decision about those outcomes, not about the invoice."""
    from files.models import StoredFile
    from files.services import stored_file_open
    from invoices.importing import configured_trust_store
    from invoices.selectors import invoice_payment_eligibility, invoice_pr_id
    from invoices.signatures import signature_fields, verify_signatures

    wanted = Invoice.objects.order_by("pk")
    if ids is not None:
        wanted = wanted.filter(pk__in=list(ids))
    elif not everything:
        wanted = wanted.filter(
            models.Q(seller_signature=SignatureStatus.UNCHECKED)
            | models.Q(tax_authority_signature=SignatureStatus.UNCHECKED)
        )
    all_ids = list(wanted.values_list("pk", flat=True))
    trust_store = configured_trust_store()
    result = SignatureRecheck()
    compared = (
        "seller_signature",
        "tax_authority_signature",
        "seller_certificate_tax_code",
        "seller_certificate_matches",
    )
    for start in range(0, len(all_ids), batch_size):
        chunk = all_ids[start : start + batch_size]
        with _acting(actor), transaction.atomic():
            rows = list(Invoice.objects.select_for_update().filter(pk__in=chunk).order_by("pk"))
            sources = StoredFile.objects.in_bulk([row.source_file_id for row in rows])
            for row in rows:
                source = sources.get(row.source_file_id)
                if source is None:
                    result.missing_file.append(row.pk)
                    continue
                result.checked += 1
                with stored_file_open(source) as stream:
                    content = stream.read()
                checks = verify_signatures(
                    content,
                    seller_tax_code=row.seller_tax_code,
                    issue_date=row.issue_date,
                    trust_store=trust_store,
                )
                fields = signature_fields(checks)
                before = {name: getattr(row, name) for name in compared}
                if (
                    before == {name: fields[name] for name in compared}
                    and row.signature_details == fields["signature_details"]
                ):
                    continue
                for name, value in fields.items():
                    setattr(row, name, value)
                withdrawn = bool(row.signature_override_at) and before != {name: fields[name] for name in compared}
                if withdrawn:
                    row.signature_override_reason, row.signature_override_by, row.signature_override_at = "", None, None
                row.save(
                    update_fields=[
                        *fields,
                        "signature_override_reason",
                        "signature_override_by",
                        "signature_override_at",
                        "updated_at",
                    ]
                )
                _audit(
                    action=InvoiceAction.VERIFY_SIGNATURES,
                    invoice_id=row.pk,
                    actor=actor,
                    metadata={
                        "before": before,
                        "after": {name: fields[name] for name in compared},
                        "override_withdrawn": withdrawn,
                    },
                )
                result.changed.append(row.pk)
                verdict = invoice_payment_eligibility(invoice=row)
                if not verdict.allowed:
                    result.refused.append(
                        {"id": row.pk, "message": verdict.message, "code": verdict.code, "pr": invoice_pr_id(row)}
                    )
    return result
