"""Reads of the approval engine: flows, delegations, and the sub-queries a document uses to find
the chains that name a person (docs/approvals.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
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


def open_places(user: User) -> QuerySet[ApprovalStepUser, Mapping[str, object]]:
    """The chains (as a sub-query of `approval_id`s) whose open step — the step awaiting approval
    of a running chain: started, not completed — has a place `user` may fill (their own, or of
    someone they stand in for today) that nobody has filled, and on which `user` has not acted yet.

    It starts from the open steps (a partial index holds only those: as many as the chains waiting,
    whatever the history), then each step's places for `user` by the (step, user) key."""
    mine = Q(user=user) | Q(user__in=delegators_today(user))
    return (
        ApprovalStepUser.objects.filter(step__started_at__isnull=False, step__completed_at__isnull=True)
        .filter(mine)
        .exclude(Exists(ApprovalRecord.objects.filter(step=OuterRef("step"), approver=OuterRef("user"))))
        .exclude(Exists(ApprovalRecord.objects.filter(step=OuterRef("step"), acted_by=user)))
        .values("step__approval_id")
    )


@dataclass(frozen=True)
class NextApprover:
    """Someone who may act on a step now: an approver, or the substitute standing in for one today."""

    user_id: int
    on_behalf_of_id: int | None = None


def who_may_act(preparers_by_step: Mapping[int, set[int]]) -> dict[int, list[NextApprover]]:
    """Who is next, per step id: its approvers who did not prepare the document (ALLOW_SELF_APPROVAL keeps
    them) and, for each, the substitutes standing in for them today who did not prepare it either
    (PREPARER-NEVER-APPROVES). Two queries for any number of steps."""
    if not preparers_by_step:
        return {}
    approvers: dict[int, list[int]] = {}
    for step_id, user_id in (
        ApprovalStepUser.objects.filter(step_id__in=list(preparers_by_step))
        .order_by("id")
        .values_list("step_id", "user_id")
    ):
        if settings.ALLOW_SELF_APPROVAL or user_id not in preparers_by_step[step_id]:
            approvers.setdefault(step_id, []).append(user_id)
    today = timezone.localdate()
    substitutes: dict[int, list[int]] = {}
    for approver_id, substitute_id in (
        ApprovalDelegation.objects.filter(
            approver_id__in={pk for ids in approvers.values() for pk in ids}, start_date__lte=today, end_date__gte=today
        )
        .order_by("id")
        .values_list("approver_id", "substitute_id")
    ):
        substitutes.setdefault(approver_id, []).append(substitute_id)
    out: dict[int, list[NextApprover]] = {}
    for step_id, ids in approvers.items():
        acting = {pk: NextApprover(pk) for pk in ids}
        for approver_id in ids:
            for substitute_id in substitutes.get(approver_id, []):
                if substitute_id not in preparers_by_step[step_id]:
                    acting.setdefault(substitute_id, NextApprover(substitute_id, on_behalf_of_id=approver_id))
        out[step_id] = list(acting.values())
    return out


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
