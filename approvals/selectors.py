"""Reads of payment requests with their chains, approval queues and flows.

Object scoping lives here (docs/payments.md): holders of `payments.view_paymentrequest`
(finance, admin, bod, owners) see every PR; anyone else sees the PRs they made, the PRs
whose chain names them, and the PRs whose chain names someone they substitute for today.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from approvals.models import (
    ApprovalDelegation,
    ApprovalFlow,
    ApprovalFlowStep,
    ApprovalFlowStepUser,
    ApprovalRecord,
    ApprovalStep,
    ApprovalStepUser,
)
from payments.models import PaymentRequest, PaymentRequestPreparer, PaymentRequestStatus, PRInvoice

if TYPE_CHECKING:
    from accounts.models import User


def _delegators_today(user: User) -> QuerySet[ApprovalDelegation, Mapping[str, object]]:
    today = timezone.localdate()
    return ApprovalDelegation.objects.filter(substitute=user, start_date__lte=today, end_date__gte=today).values(
        "approver_id"
    )


def payment_requests_visible_to(user: User, qs: QuerySet[PaymentRequest] | None = None) -> QuerySet[PaymentRequest]:
    qs = PaymentRequest.objects.all() if qs is None else qs
    if not user or not user.is_authenticated:
        return qs.none()
    if user.has_perm("payments.view_paymentrequest"):
        return qs
    in_chain = ApprovalStepUser.objects.filter(step__approval__pr=OuterRef("pk")).filter(
        Q(user=user) | Q(user__in=_delegators_today(user))
    )
    return qs.filter(Q(maker=user) | Exists(in_chain))


def awaiting(user: User, qs: QuerySet[PaymentRequest] | None = None) -> QuerySet[PaymentRequest]:
    """Pending PRs whose current step has an open place `user` may fill (their own, or of
    someone they substitute for today) and on which they have not acted yet."""
    qs = PaymentRequest.objects.all() if qs is None else qs
    open_place = (
        ApprovalStepUser.objects.filter(
            step__approval__pr=OuterRef("pk"), step__number=OuterRef("approval__current_step")
        )
        .filter(Q(user=user) | Q(user__in=_delegators_today(user)))
        .exclude(Exists(ApprovalRecord.objects.filter(step=OuterRef("step"), approver=OuterRef("user"))))
    )
    acted = ApprovalRecord.objects.filter(
        approval__pr=OuterRef("pk"), step__number=OuterRef("approval__current_step"), acted_by=user
    )
    qs = qs.filter(status=PaymentRequestStatus.PENDING).filter(Exists(open_place)).exclude(Exists(acted))
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
        ApprovalStep.objects.filter(approval__pr_id=OuterRef("pk"))
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
            "approval__pr_id",
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
    "payment_reference",
    "created_at",
    "updated_at",
    "completed_at",
)


def payment_request_detail(*, user: User) -> QuerySet[PaymentRequest]:
    """One PR with its whole chain, records, attachments (and invoices when linked): a fixed
    number of queries."""
    steps = ApprovalStep.objects.order_by("number").prefetch_related(
        Prefetch("step_users", queryset=ApprovalStepUser.objects.select_related("user").order_by("id")),
        Prefetch("records", queryset=ApprovalRecord.objects.select_related("approver", "acted_by").order_by("id")),
    )
    qs = (
        payment_requests_visible_to(user)
        .select_related("maker", "approval", "approval__flow")
        .prefetch_related(
            Prefetch("approval__steps", queryset=steps),
            "attachments__file",
            Prefetch("invoice_links", queryset=PRInvoice.objects.select_related("invoice").order_by("id")),
            Prefetch("preparers", queryset=PaymentRequestPreparer.objects.select_related("user").order_by("id")),
        )
    )
    return qs


def flow_list() -> QuerySet[ApprovalFlow]:
    return ApprovalFlow.objects.prefetch_related(
        Prefetch(
            "steps",
            queryset=ApprovalFlowStep.objects.order_by("number").prefetch_related(
                Prefetch("step_users", queryset=ApprovalFlowStepUser.objects.select_related("user").order_by("id"))
            ),
        )
    ).order_by("name")


def delegation_list(*, user: User) -> QuerySet[ApprovalDelegation]:
    qs = ApprovalDelegation.objects.select_related("approver", "substitute")
    if not user or not user.is_authenticated:
        return qs.none()
    if user.is_owner:
        return qs
    return qs.filter(Q(approver=user) | Q(substitute=user))
