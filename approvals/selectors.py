"""Reads of the approval engine: flows, delegations, and the sub-queries a document uses to find
the chains that name a person (docs/approvals.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
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

if TYPE_CHECKING:
    from accounts.models import User


def delegators_today(user: User) -> QuerySet[ApprovalDelegation, Mapping[str, object]]:
    """The approvers `user` stands in for today (company time zone), as a sub-query of ids."""
    today = timezone.localdate()
    return ApprovalDelegation.objects.filter(substitute=user, start_date__lte=today, end_date__gte=today).values(
        "approver_id"
    )


def chain_names(user: User, approval: OuterRef) -> Exists:
    """The chain `approval` names `user` on some step, or someone `user` stands in for today."""
    return Exists(
        ApprovalStepUser.objects.filter(step__approval_id=approval).filter(
            Q(user=user) | Q(user__in=delegators_today(user))
        )
    )


def open_place_for(user: User, approval: OuterRef, current_step: OuterRef) -> Q:
    """The chain's current step has a place `user` may fill (their own, or of someone they stand
    in for today) that nobody has filled, and `user` has not approved that step yet."""
    open_place = (
        ApprovalStepUser.objects.filter(step__approval_id=approval, step__number=current_step)
        .filter(Q(user=user) | Q(user__in=delegators_today(user)))
        .exclude(Exists(ApprovalRecord.objects.filter(step=OuterRef("step"), approver=OuterRef("user"))))
    )
    acted = ApprovalRecord.objects.filter(approval_id=approval, step__number=current_step, acted_by=user)
    return Q(Exists(open_place)) & ~Q(Exists(acted))


def chain_detail() -> Prefetch:
    """A chain's steps with their approvers and records, for `prefetch_related` from a document's
    `approval` link: three queries whatever the number of documents."""
    steps = ApprovalStep.objects.order_by("number").prefetch_related(
        Prefetch("step_users", queryset=ApprovalStepUser.objects.select_related("user").order_by("id")),
        Prefetch("records", queryset=ApprovalRecord.objects.select_related("approver", "acted_by").order_by("id")),
    )
    return Prefetch("approval__steps", queryset=steps)


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
