"""Which chain a request must walk, and who may fill each place on it (docs/controls.md:
CHAIN-FROM-POLICY, ELIGIBLE-APPROVERS-UP-FRONT, PREPARER-NEVER-APPROVES).

A request's chain is decided when approval is requested, never by the maker: the owners' active
flow whose amount range holds the request's final amount, copied and frozen. A hand-made
("custom") chain is allowed only to holders of `approvals.customize_chain`, and must still contain
every step of the amount's flow. Each step must be satisfiable by people who did not prepare the
request; otherwise the request is refused up front, naming the step, instead of hanging in pending.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from acountee.errors import PermissionDeniedError, ValidationFailed
from approvals.models import ApprovalDelegation, ApprovalFlow, StepMode

if TYPE_CHECKING:
    from accounts.models import User

# (name, mode, approvers) — one step of a chain about to be written.
ChainStep = tuple[str, str, list["User"]]


@dataclass
class FlowStep:
    name: str
    mode: str
    approvers: list[User]
    alternates: list[User]


def flow_for_amount(amount: Decimal) -> ApprovalFlow | None:
    """The active flow whose [min, max) range holds `amount` (at most one: ranges of active
    flows never overlap)."""
    return (
        ApprovalFlow.objects.filter(is_active=True)
        .filter(Q(min_amount__isnull=False) | Q(max_amount__isnull=False))
        .filter(Q(min_amount__isnull=True) | Q(min_amount__lte=amount))
        .filter(Q(max_amount__isnull=True) | Q(max_amount__gt=amount))
        .order_by("id")
        .first()
    )


def flow_steps(flow: ApprovalFlow) -> list[FlowStep]:
    steps = []
    for step in flow.steps.order_by("number").prefetch_related("step_users__user"):
        rows = list(step.step_users.all())
        steps.append(
            FlowStep(
                name=step.name,
                mode=step.mode,
                approvers=[r.user for r in rows if not r.is_alternate],
                alternates=[r.user for r in rows if r.is_alternate],
            )
        )
    return steps


def ensure_may_customize(actor: User | None) -> None:
    """A maker never picks their approvers: a hand-made chain (inline steps, or a flow other than
    the amount's) needs the owner-granted `approvals.customize_chain`."""
    if actor is not None and not actor.has_perm("approvals.customize_chain"):
        raise PermissionDeniedError(
            _(
                "The approval chain comes from the approval flow for the amount. Choosing a flow or setting "
                "steps by hand needs the permission to customise approval chains, which an owner grants."
            ),
            code="CUSTOM_CHAIN_NOT_ALLOWED",
        )


class Eligibility:
    """Who can fill an approver's place on one request: the approver, if active and not a
    preparer; or a substitute standing in for them today who is active and not a preparer. A
    preparer's place cannot be filled at all (not even by their substitute)."""

    def __init__(self, preparers: set[int], users: Iterable[User]):
        self.preparers = preparers
        today = timezone.localdate()
        self.covered: set[int] = set(
            ApprovalDelegation.objects.filter(
                approver_id__in={u.pk for u in users},
                start_date__lte=today,
                end_date__gte=today,
                substitute__is_active=True,
            )
            .exclude(substitute_id__in=preparers)
            .values_list("approver_id", flat=True)
        )

    def can_fill(self, user: User) -> bool:
        if user.pk in self.preparers:
            return False
        return user.is_active or user.pk in self.covered

    def refusal(self, number: int, name: str, users: list[User]) -> ValidationFailed:
        """Why step `number` cannot be satisfied, and what fixes it."""
        blocked_preparers = [u for u in users if u.pk in self.preparers]
        if blocked_preparers:
            names = ", ".join(u.name or u.email for u in blocked_preparers)
            return ValidationFailed(
                _(
                    "Step %(n)d (%(step)s) would have no eligible approver: %(names)s prepared this request "
                    "and cannot approve it. Ask an owner to add an alternate approver to this step of the "
                    "approval flow, or have someone else prepare the request."
                )
                % {"n": number, "step": name, "names": names},
                code="NO_ELIGIBLE_APPROVER",
                details={"step": number, "preparers": [u.pk for u in blocked_preparers]},
            )
        inactive = [u.pk for u in users if not u.is_active]
        return ValidationFailed(
            _(
                "Step %(n)d (%(step)s) names an inactive approver with no substitute today. Ask the owners to "
                "update the approval flow, or the approver to name a substitute."
            )
            % {"n": number, "step": name},
            code="INACTIVE_APPROVER",
            details={"step": number, "users": inactive},
        )


def policy_chain(flow: ApprovalFlow, preparers: set[int]) -> list[ChainStep]:
    """The amount's flow as this request's chain: approvers who cannot fill their place on it
    (preparers; inactive with no substitute) are left out, and alternates take their places —
    one for an any-of step left empty, one per missing approver of an all-of step."""
    steps = flow_steps(flow)
    eligibility = Eligibility(preparers, [u for s in steps for u in (*s.approvers, *s.alternates)])
    chain: list[ChainStep] = []
    for number, step in enumerate(steps, start=1):
        approvers = [u for u in step.approvers if eligibility.can_fill(u)]
        needed = len(step.approvers) if step.mode == StepMode.ALLOF else 1
        for alternate in step.alternates:
            if len(approvers) >= needed:
                break
            if alternate not in approvers and eligibility.can_fill(alternate):
                approvers.append(alternate)
        if len(approvers) < needed or not approvers:
            raise eligibility.refusal(number, step.name, step.approvers)
        chain.append((step.name, step.mode, approvers))
    return chain


def ensure_custom_chain_eligible(chain: list[ChainStep], preparers: set[int]) -> None:
    """A hand-made chain gets no alternates: every step must be satisfiable as written."""
    eligibility = Eligibility(preparers, [u for _n, _m, users in chain for u in users])
    for number, (name, mode, users) in enumerate(chain, start=1):
        fillable = [u for u in users if eligibility.can_fill(u)]
        if not fillable or (mode == StepMode.ALLOF and len(fillable) < len(users)):
            raise eligibility.refusal(number, name, users)


def ensure_covers_policy(chain: list[ChainStep], policy: list[ChainStep], flow: ApprovalFlow) -> None:
    """A custom chain may add steps, never drop or weaken one of the amount's flow: each of the
    flow's steps must appear, in order, with the same mode and the same approvers."""
    remaining = iter(chain)
    for number, (name, mode, approvers) in enumerate(policy, start=1):
        wanted = {u.pk for u in approvers}
        if not any(m == mode and {u.pk for u in users} == wanted for _n, m, users in remaining):
            raise ValidationFailed(
                _(
                    "The custom approval chain is below the approval flow for this amount (%(flow)s): it lacks step "
                    "%(n)d (%(step)s) with the same approvers."
                )
                % {"flow": flow.name, "n": number, "step": name},
                code="CHAIN_BELOW_POLICY",
                details={"flow": flow.pk, "step": number},
            )
