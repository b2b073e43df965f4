"""What the payment request's services share: the row lock, state and permission checks, the
preparers, the amount from the invoices and the payee snapshot (docs/payments.md, docs/controls.md)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Count, Sum
from django.utils.translation import gettext as _

from acountee.errors import InvalidState, NotFoundError, PermissionDeniedError
from approvals import services as engine
from approvals.models import Approval
from payments.models import (
    PaymentRequest,
    PaymentRequestPreparer,
    PaymentRequestStatus,
    PaymentRequestType,
    PRInvoice,
)
from payments.selectors import last_paid_payee, payment_request_bank_details

if TYPE_CHECKING:
    from accounts.models import User
    from invoices.models import Invoice

S = PaymentRequestStatus
UNSET: Any = object()  # "not given" for update arguments whose None means something


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


def ensure_can_complete(actor: User | None) -> None:
    if actor is not None and not actor.has_perm("payments.complete_paymentrequest"):
        raise PermissionDeniedError(_("Only finance staff can complete payment requests."), code="PERMISSION_DENIED")


def lock_approval(pr: PaymentRequest) -> Approval:
    """Second lock of every transition (after the PR row): the request's approval chain."""
    if pr.approval_id is None:  # a PR created outside the services: give it an empty chain
        pr.approval = engine.chain_create(flow=None, steps=[], is_custom=False)
        pr.save(update_fields=["approval", "updated_at"])
        return pr.approval
    return Approval.objects.select_for_update().get(pk=pr.approval_id)


def linked_invoices(pr: PaymentRequest) -> list[Invoice]:
    """The PR's invoices, locked (after the PR: lock order PR → invoices)."""
    from invoices.models import Invoice

    return list(Invoice.objects.select_for_update().filter(pr_link__pr=pr).order_by("id"))


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
