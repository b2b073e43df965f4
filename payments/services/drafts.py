"""A payment request while it is a draft: create (also from invoices), update, delete."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext as _

from acountee.errors import NotFoundError, ValidationFailed
from acountee.money import parse_amount
from approvals import services as engine
from approvals.models import ApprovalFlow
from audit.services import audit_log
from payments import events
from payments.audit_actions import PaymentRequestAction as PRAction
from payments.models import PaymentMethod, PaymentRequest, PaymentRequestType, PRInvoice
from payments.services.common import (
    UNSET,
    S,
    ensure_can_prepare,
    ensure_status,
    invoices_total,
    lock_approval,
    payment_request_lock,
    payment_request_sync_amount,
    preparers_add,
)

if TYPE_CHECKING:
    from accounts.models import User

# --- PR create / update / delete ------------------------------------------------------------------
PR_EDITABLE_FIELDS = ("name", "type", "amount", "currency", "note", "bank_name", "bank_account", "account_name")


def _apply_pr_fields(pr: PaymentRequest, fields: dict[str, Any], payment_method: PaymentMethod | None) -> None:
    for key, value in fields.items():
        if key not in PR_EDITABLE_FIELDS:
            raise ValidationFailed(_("Unknown field."), details={key: [_("Unknown field.")]})
        if key == "amount":
            value = parse_amount(value, "amount")
        elif key == "type":
            if value not in PaymentRequestType.values:
                raise ValidationFailed(_("Unknown type."), details={"type": [str(value)]})
        elif key == "currency":
            value = str(value or "").strip().upper()
            if len(value) != 3 or not value.isalpha() or not value.isascii():
                raise ValidationFailed(_("A currency is a three-letter code."), details={"currency": [value]})
        elif isinstance(value, str) or value is None:
            value = (value or "").strip()
        setattr(pr, key, value)
    if payment_method is not None:
        pr.bank_name = payment_method.bank_name
        pr.bank_account = payment_method.bank_account
        pr.account_name = payment_method.account_name
    if not pr.name:
        raise ValidationFailed(_("A name is required."), details={"name": [_("This field is required.")]})


def _ensure_typed_amount_allowed(pr: PaymentRequest, fields: dict[str, Any]) -> None:
    """AMOUNT-FROM-INVOICES: a request backed by invoices (and every direct request) is for the
    sum of its invoices; only an advanced request without invoices has a typed amount."""
    if "amount" not in fields or fields["amount"] is None:
        return
    derived = invoices_total(pr) if pr.pk else None
    if derived is None and pr.type == PaymentRequestType.DIRECT:
        derived = Decimal(0)
    if derived is not None and parse_amount(fields["amount"], "amount") != derived:
        raise ValidationFailed(
            _("The amount of this payment request is the total of its invoices (%(total)s): it cannot be typed.")
            % {"total": derived},
            code="AMOUNT_FROM_INVOICES",
            details={"amount": [_("Set by the linked invoices.")]},
        )


def payment_request_create(
    *,
    actor: User,
    name: str,
    amount: Decimal | str | None = None,
    type: str = PaymentRequestType.DIRECT,
    currency: str = "VND",
    note: str = "",
    bank_name: str = "",
    bank_account: str = "",
    account_name: str = "",
    payment_method: PaymentMethod | None = None,
    flow: ApprovalFlow | None = None,
    steps: Sequence[engine.StepSpec] | None = None,
    maker: User | None = None,
) -> PaymentRequest:
    """A new draft PR. Its chain shown in draft is the amount's flow; inline `steps` or a chosen
    `flow` make a custom chain (only with `approvals.customize_chain`). A direct PR's amount
    comes from the invoices linked to it afterwards."""
    pr = PaymentRequest(maker=maker or actor, status=S.DRAFT, type=type)
    fields = {
        "name": name,
        "type": type,
        "amount": Decimal(0) if amount is None else amount,
        "currency": currency,
        "note": note,
        "bank_name": bank_name,
        "bank_account": bank_account,
        "account_name": account_name,
    }
    _apply_pr_fields(pr, fields, payment_method)
    _ensure_typed_amount_allowed(pr, {"amount": amount})
    chain, source_flow, is_custom = engine.resolve_chain(actor=actor, amount=pr.amount, flow=flow, steps=steps)
    with transaction.atomic():
        pr.approval = engine.chain_create(flow=source_flow, steps=chain, is_custom=is_custom)
        pr.save()
        preparers_add(pr=pr, users=[pr.maker, actor], action="create_pr")
        events.pr_changed(pr)
        audit_log(
            action=PRAction.CREATE,
            table="pr",
            record_id=pr.pk,
            actor=actor,
            metadata={"flow": source_flow.pk if source_flow else None, "steps": len(chain), "custom": is_custom},
        )
    return pr


def payment_request_create_from_invoices(
    *,
    actor: User,
    invoice_ids: Iterable[int],
    name: str = "",
    flow: ApprovalFlow | None = None,
) -> PaymentRequest:
    """A direct draft PR for the given imported, unlinked invoices, in one transaction: the amount
    is their total payable and the name defaults to their sellers. Any invoice that cannot be
    linked refuses the whole request (nothing is created)."""
    from invoices.models import Invoice
    from payments.services.links import invoice_link

    ids = sorted({int(i) for i in invoice_ids})
    if not ids:
        raise ValidationFailed(_("Choose at least one invoice."), code="NO_INVOICES")
    invoices = list(Invoice.objects.filter(pk__in=ids).order_by("pk"))
    if len(invoices) != len(ids):
        raise NotFoundError(_("Invoice not found."), code="INVOICE_NOT_FOUND")
    if len({inv.currency for inv in invoices}) > 1:
        raise ValidationFailed(_("The invoices are in different currencies."), code="MIXED_CURRENCIES")
    if not name:
        sellers = list(dict.fromkeys(inv.seller_name for inv in invoices if inv.seller_name))
        name = ", ".join(sellers[:3]) + ("…" if len(sellers) > 3 else "")
        name = (name or _("Payment request")).strip()[:255]
    with transaction.atomic():
        pr = payment_request_create(
            actor=actor, name=name, type=PaymentRequestType.DIRECT, currency=invoices[0].currency or "VND", flow=flow
        )
        for invoice in invoices:
            invoice_link(invoice=invoice, pr=pr, actor=actor)
        pr.refresh_from_db()
        if flow is None:  # the draft shows the flow for the invoices' total, not for the empty request
            chain, source_flow, _custom = engine.resolve_chain(actor=actor, amount=pr.amount, flow=None, steps=None)
            engine.write_chain(lock_approval(pr), chain, source_flow, is_custom=False)
    return pr


def payment_request_update(
    *,
    pr: PaymentRequest,
    actor: User | None,
    payment_method: PaymentMethod | None = None,
    flow: ApprovalFlow | None = UNSET,
    steps: Sequence[engine.StepSpec] | None = UNSET,
    **fields: Any,
) -> PaymentRequest:
    """Change a draft. Passing `flow` or `steps` replaces the whole chain (draft only: a
    submitted PR's chain is what its approvers agreed to walk)."""
    with transaction.atomic():
        pr = payment_request_lock(pk=pr.pk)
        ensure_can_prepare(pr, actor)
        ensure_status(pr, S.DRAFT, action=_("edit"))
        before = {key: str(getattr(pr, key)) for key in fields if key in PR_EDITABLE_FIELDS}
        _apply_pr_fields(pr, fields, payment_method)
        _ensure_typed_amount_allowed(pr, fields)
        pr.save()
        payment_request_sync_amount(pr)
        preparers_add(pr=pr, users=[actor], action="update_pr")
        metadata: dict[str, Any] = {"fields": sorted(before)}
        if flow is not UNSET or steps is not UNSET:
            approval = lock_approval(pr)
            chain, source_flow, is_custom = engine.resolve_chain(
                actor=actor,
                amount=pr.amount,
                flow=None if flow is UNSET else flow,
                steps=None if steps is UNSET else steps,
            )
            engine.write_chain(approval, chain, source_flow, is_custom=is_custom)
            metadata.update(
                {
                    "chain_replaced": True,
                    "flow": source_flow.pk if source_flow else None,
                    "steps": len(chain),
                    "custom": is_custom,
                }
            )
        events.pr_changed(pr)
        audit_log(action=PRAction.UPDATE, table="pr", record_id=pr.pk, actor=actor, metadata=metadata)
    return pr


def payment_request_delete(*, pr: PaymentRequest, actor: User | None) -> None:
    """Drafts only; its chain, attachments (not the files) and invoice links go with it."""
    with transaction.atomic():
        pr = payment_request_lock(pk=pr.pk)
        ensure_can_prepare(pr, actor, perm="delete")
        ensure_status(pr, S.DRAFT, action=_("delete"))
        events.pr_changed(pr)
        audit_log(action=PRAction.DELETE, table="pr", record_id=pr.pk, actor=actor, metadata={"name": pr.name})
        approval = lock_approval(pr)
        linked = list(PRInvoice.objects.filter(pr=pr).values_list("invoice_id", flat=True))
        pr.delete()
        if linked:  # free again: their `pr` changed (docs/API.md, Syncing a list)
            from invoices.services import invoices_touch

            invoices_touch(invoice_ids=linked)
        approval.delete()  # the request owns its chain (the link is the request's)
