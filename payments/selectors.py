"""Reads of payment requests: the requests a person may see, their approval queue, list pages and
detail with chains; the payment-method registry and the bank details a request pays to.

Object scoping lives here (docs/payments.md): holders of `payments.view_paymentrequest`
(finance, admin, bod, owners) see every PR; anyone else sees the PRs they made, the PRs
whose chain names them, and the PRs whose chain names someone they substitute for today.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from acountee.months import Month
from approvals import selectors as chains
from approvals.models import ApprovalStep
from payments.models import PR_SEARCH_FIELDS as PR_SEARCH_FIELDS  # re-exported: the API and admin read it here
from payments.models import (
    PaymentMethod,
    PaymentRequest,
    PaymentRequestPreparer,
    PaymentRequestStatus,
    PaymentRequestType,
    PRAttachment,
    PRInvoice,
)

if TYPE_CHECKING:
    from accounts.models import User

# What people type to find a payment method (a short list: folded on the fly, no index).
PAYMENT_METHOD_SEARCH_FIELDS = ("name", "bank_name", "bank_account", "account_name")


def payment_method_list() -> QuerySet[PaymentMethod]:
    return PaymentMethod.objects.order_by("name", "id")


@dataclass
class BankDetails:
    """Where a PR's money goes. `source` is `pr` (advanced) or `invoices` (direct).
    `conflict`: the linked invoices name different accounts; `missing`: nothing to pay to.
    `frozen`: the payee snapshotted when approval was requested (every state but draft)."""

    bank_name: str = ""
    bank_account: str = ""
    account_name: str = ""
    source: str = "pr"
    conflict: bool = False
    missing: bool = False
    candidates: list[dict[str, str]] = field(default_factory=list)
    frozen: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "bank_name": self.bank_name,
            "bank_account": self.bank_account,
            "account_name": self.account_name,
            "source": self.source,
            "conflict": self.conflict,
            "missing": self.missing,
            "candidates": self.candidates,
            "frozen": self.frozen,
        }


def _invoice_accounts(pr: PaymentRequest) -> list[dict[str, str]]:
    """One entry per distinct payee the invoices name — an invoice naming none included, so that
    it is flagged as missing instead of being paid to the others' account."""
    seen: dict[tuple[str, str, str], dict[str, str]] = {}
    for link in pr.invoice_links.all():  # prefetched by the detail selector
        inv = link.invoice
        key = (
            (inv.payment_bank_name or "").strip(),
            normalise_account(inv.payment_bank_account),
            (inv.payment_account_name or "").strip(),
        )
        seen.setdefault(key, {"bank_name": key[0], "bank_account": key[1], "account_name": key[2]})
    return list(seen.values())


def normalise_account(number: str) -> str:
    """A bank account number as compared and paid: without spaces."""
    return (number or "").replace(" ", "").strip()


def payment_request_bank_details(pr: PaymentRequest) -> BankDetails:
    """Once approval was requested, the payee frozen then (PAYEE-FROZEN: what was approved is
    what gets paid, whatever happens to the invoices or the request's fields afterwards).
    In draft: advanced PRs carry their own details; direct PRs pay the account their invoices
    name. Invoices naming different accounts (or none) are flagged, never silently resolved."""
    source = "pr" if pr.type == PaymentRequestType.ADVANCED else "invoices"
    if pr.status != PaymentRequestStatus.DRAFT and pr.payee_bank_account:
        return BankDetails(
            bank_name=pr.payee_bank_name,
            bank_account=pr.payee_bank_account,
            account_name=pr.payee_account_name,
            source=source,
            frozen=True,
        )
    if pr.type == PaymentRequestType.ADVANCED:
        return BankDetails(
            bank_name=pr.bank_name,
            bank_account=normalise_account(pr.bank_account),
            account_name=pr.account_name,
            source="pr",
            missing=not (pr.bank_account and pr.account_name),
        )
    accounts = _invoice_accounts(pr)
    named = [a for a in accounts if a["bank_account"]]
    if not named:
        return BankDetails(source="invoices", missing=True)
    first = named[0]
    return BankDetails(
        bank_name=first["bank_name"],
        bank_account=first["bank_account"],
        account_name=first["account_name"],
        source="invoices",
        conflict=len({a["bank_account"] for a in named}) > 1,
        missing=len(named) < len(accounts),  # an invoice names no account
        candidates=accounts if len(accounts) > 1 else [],
    )


def preparer_ids(pr_ids: list[int]) -> dict[int, set[int]]:
    """Per request, who prepared it (docs/controls.md, PREPARER-NEVER-APPROVES). One query."""
    out: dict[int, set[int]] = {pk: set() for pk in pr_ids}
    for pr_id, user_id in PaymentRequestPreparer.objects.filter(pr_id__in=pr_ids).values_list("pr_id", "user_id"):
        out[pr_id].add(user_id)
    return out


def last_paid_payee(*, tax_code: str, bank_account: str) -> tuple[bool, PaymentRequest | None]:
    """Whether `bank_account` was ever paid for this supplier (tax code; for a request without
    one, to anyone), and the supplier's most recently paid request (to compare accounts)."""
    paid = PaymentRequest.objects.filter(status=PaymentRequestStatus.COMPLETED)
    if not tax_code:
        return paid.filter(payee_bank_account=bank_account).exists(), None
    supplier = paid.filter(payee_tax_code=tax_code)
    latest = supplier.order_by("-completed_at", "-id").first()
    return supplier.filter(payee_bank_account=bank_account).exists(), latest


def payment_requests_visible_to(user: User, qs: QuerySet[PaymentRequest] | None = None) -> QuerySet[PaymentRequest]:
    qs = PaymentRequest.objects.all() if qs is None else qs
    if not user or not user.is_authenticated:
        return qs.none()
    if user.has_perm("payments.view_paymentrequest"):
        return qs
    return qs.filter(Q(maker=user) | chains.chain_names(user, OuterRef("approval_id")))


def awaiting(user: User, qs: QuerySet[PaymentRequest] | None = None) -> QuerySet[PaymentRequest]:
    """Pending PRs whose current step has an open place `user` may fill (their own, or of
    someone they substitute for today) and on which they have not acted yet."""
    qs = PaymentRequest.objects.all() if qs is None else qs
    qs = qs.filter(status=PaymentRequestStatus.PENDING, approval_id__in=chains.open_places(user))
    if not settings.ALLOW_SELF_APPROVAL:  # PREPARER-NEVER-APPROVES: not in a preparer's queue
        qs = qs.exclude(Exists(PaymentRequestPreparer.objects.filter(pr=OuterRef("pk"), user=user)))
    return qs


def payment_request_list(*, user: User, awaiting_me: bool = False) -> QuerySet[PaymentRequest]:
    """What the list pages over: the PRs `user` may see, newest first, without joins, so that
    paging (even deep, with OFFSET) scans only the primary key. `payment_request_rows` then
    reads the page's rows."""
    qs = payment_requests_visible_to(user)
    if awaiting_me:
        qs = awaiting(user, qs)
    return qs.order_by("-id")


def payment_request_rows(*, ids: list[int] | QuerySet[Any]) -> QuerySet[PaymentRequest]:
    """One page of the list: maker and chain pointer joined, step count annotated; one query
    whatever the page size. `ids` may be a lazy page of ids (a subquery)."""
    step_count = (
        ApprovalStep.objects.filter(approval_id=OuterRef("approval_id"))
        .order_by()
        .values("approval_id")
        .annotate(n=Count("id"))
        .values("n")[:1]
    )
    return (
        PaymentRequest.objects.filter(pk__in=ids)
        .select_related("maker", "approval")
        .only(
            *LIST_FIELDS,
            "maker__id",
            "maker__email",
            "maker__name",
            "approval__id",
            "approval__current_step",
        )
        .annotate(step_count=Coalesce(Subquery(step_count), 0))
        .order_by("-id")
    )


LIST_FIELDS = (
    "id",
    "name",
    "type",
    "amount",
    "currency",
    "status",
    "maker_id",
    "approval_id",
    "payment_reference",
    "created_at",
    "updated_at",
    "completed_at",
)


def payment_request_detail(*, user: User) -> QuerySet[PaymentRequest]:
    """One PR with its whole chain, records, attachments (and invoices when linked): a fixed
    number of queries."""
    qs = (
        payment_requests_visible_to(user)
        .select_related("maker", "approval", "approval__flow")
        .prefetch_related(
            chains.chain_detail(),
            "attachments__file",
            Prefetch("invoice_links", queryset=PRInvoice.objects.select_related("invoice").order_by("id")),
            Prefetch("preparers", queryset=PaymentRequestPreparer.objects.select_related("user").order_by("id")),
        )
    )
    return qs


def payment_request_print(*, user: User) -> QuerySet[PaymentRequest]:
    """The requests `user` may see, with what their payment request form (Mẫu số 05-TT) prints: maker and team,
    the chain's steps with approvers and records, the invoices (by issue date), the number of attachments. Six
    queries whatever the number of requests (one form, or a month of them)."""
    attachments = (
        PRAttachment.objects.filter(pr=OuterRef("pk")).order_by().values("pr").annotate(n=Count("id")).values("n")[:1]
    )
    invoices = PRInvoice.objects.select_related("invoice").order_by("invoice__issue_date", "invoice__number", "id")
    return (
        payment_requests_visible_to(user)
        .select_related("maker", "maker__team", "approval")
        .prefetch_related(chains.chain_detail(), Prefetch("invoice_links", queryset=invoices))
        .annotate(attachment_count=Coalesce(Subquery(attachments), 0))
    )


def payment_requests_completed_in(*, user: User, month: Month) -> QuerySet[PaymentRequest]:
    """The requests `user` may see that were completed (paid) in `month`, local time, in the order they were
    paid: the month's batch of printed forms."""
    start, end = month.local_bounds()
    qs = payment_request_print(user=user).filter(status=PaymentRequestStatus.COMPLETED, completed_at__gte=start)
    if end is not None:
        qs = qs.filter(completed_at__lt=end)
    return qs.order_by("completed_at", "id")
