"""The payment-request lifecycle and approval flows (docs/payments.md, docs/controls.md).

This module is the one orchestrator of a PR's life: every service that changes a PR's
status or its approval chain lives here, because `approvals` sits above `payments`
(`payments` never imports `approvals`; see docs/payments.md).

Concurrency (docs/concurrency.md): each transition opens one transaction, locks the PR row
(`payments.services.payment_request_lock`), then the approval row, re-checks every rule
against what it just read and writes. All writers of a PR's chain go through here, so the PR
row lock serialises them; the database's unique constraints on approval records are the
second line. Repeating an action that already happened is refused with a 409 and a specific
code (ALREADY_APPROVED, ALREADY_REQUESTED, ALREADY_COMPLETED, …), never applied twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TypedDict

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from acountee.db.errors import domain_error
from acountee.errors import (
    AcounteeError,
    ConflictError,
    Duplicate,
    InvalidState,
    NotFoundError,
    NotOwner,
    PermissionDeniedError,
    ValidationFailed,
)
from approvals import events, policy
from approvals.audit_actions import DelegationAction, FlowAction
from approvals.audit_actions import PaymentRequestAction as PRAction
from approvals.models import (
    Approval,
    ApprovalDelegation,
    ApprovalFlow,
    ApprovalFlowStep,
    ApprovalFlowStepUser,
    ApprovalRecord,
    ApprovalStep,
    ApprovalStepUser,
    StepMode,
)
from audit.models import SecurityEventKind
from audit.services import audit_log_many, security_event_record
from payments.models import PaymentMethod, PaymentRequest, PaymentRequestStatus, PaymentRequestType
from payments.selectors import payment_request_bank_details, preparer_ids
from payments.services import (
    audit,
    ensure_can_prepare,
    ensure_status,
    invoices_total,
    payee_freeze,
    payee_release,
    payment_request_lock,
    payment_request_sync_amount,
    preparers_add,
)

if TYPE_CHECKING:
    from accounts.models import User

S = PaymentRequestStatus
_UNSET: Any = object()
MAX_STEPS = 20
MAX_APPROVERS_PER_STEP = 50
MAX_BULK_APPROVE = 1000


class StepSpec(TypedDict, total=False):
    """A step: {"name": str, "mode": "anyof"|"allof", "approvers": [User, …]}; a flow's step may
    also name "alternates" (docs/controls.md, ELIGIBLE-APPROVERS-UP-FRONT)."""

    name: str
    mode: str
    approvers: Sequence[User]
    alternates: Sequence[User]


# --- small helpers ---------------------------------------------------------------------------------
def _today() -> date:
    return timezone.localdate()


def _money(value: Any, field: str) -> Decimal:
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationFailed(_("Not a valid amount."), details={field: [_("Not a valid amount.")]}) from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e16"):
        raise ValidationFailed(_("Not a valid amount."), details={field: [_("Not a valid amount.")]})
    return amount.quantize(Decimal("0.01"))


def _clean_steps(steps: Sequence[StepSpec]) -> list[tuple[str, str, list[User]]]:
    """Validate inline steps; each needs a name, a valid mode and at least one distinct,
    active approver."""
    if not isinstance(steps, list | tuple):
        raise ValidationFailed(_("Steps must be a list."), details={"steps": [_("Steps must be a list.")]})
    if len(steps) > MAX_STEPS:
        raise ValidationFailed(_("Too many steps."), details={"steps": [_("At most %d steps.") % MAX_STEPS]})
    cleaned = []
    for index, step in enumerate(steps, start=1):
        name = str(step.get("name") or "").strip() or _("Step %(n)d") % {"n": index}
        mode = step.get("mode") or StepMode.ANYOF
        if mode not in StepMode.values:
            raise ValidationFailed(_("Unknown step mode."), details={"steps": {index: {"mode": [mode]}}})
        approvers = list(step.get("approvers") or [])
        if not approvers:
            raise ValidationFailed(
                _("Step %(n)d has no approver.") % {"n": index},
                code="STEP_WITHOUT_APPROVERS",
                details={"steps": {index: {"approvers": [_("At least one approver is required.")]}}},
            )
        if len(approvers) > MAX_APPROVERS_PER_STEP:
            raise ValidationFailed(_("Too many approvers in one step."), details={"steps": {index: {}}})
        if len({u.pk for u in approvers}) != len(approvers):
            raise ValidationFailed(
                _("Step %(n)d names an approver twice.") % {"n": index},
                code="DUPLICATE_APPROVER",
                details={"steps": {index: {"approvers": [_("Each approver once.")]}}},
            )
        inactive = [u.pk for u in approvers if not u.is_active]
        if inactive:
            raise ValidationFailed(
                _("Inactive users cannot approve."),
                code="INACTIVE_APPROVER",
                details={"steps": {index: {"approvers": inactive}}},
            )
        cleaned.append((name[:200], mode, approvers))
    return cleaned


def _ensure_owner(actor: User | None) -> None:
    if actor is None or not actor.is_owner:
        raise NotOwner(_("Only owners manage approval flows."))


def _ensure_can_complete(actor: User | None) -> None:
    if actor is not None and not actor.has_perm("payments.complete_paymentrequest"):
        raise PermissionDeniedError(_("Only finance staff can complete payment requests."), code="PERMISSION_DENIED")


def _lock_approval(pr: PaymentRequest) -> Approval:
    """Second lock of every transition (after the PR row)."""
    approval = Approval.objects.select_for_update().filter(pr_id=pr.pk).first()
    if approval is None:  # a PR created outside the services: give it an empty chain
        approval = Approval.objects.create(pr=pr)
    return approval


def _step_snapshot(step: ApprovalStep) -> dict[str, Any]:
    return {"number": step.number, "name": step.name, "mode": step.mode}


# --- chain building ------------------------------------------------------------------------------
flow_for_amount = policy.flow_for_amount


def _write_chain(
    approval: Approval, steps: list[policy.ChainStep], flow: ApprovalFlow | None, *, is_custom: bool
) -> None:
    """Replace the chain's steps (draft only; the caller holds the PR and approval locks)."""
    ApprovalStep.objects.filter(approval=approval).delete()
    created = ApprovalStep.objects.bulk_create(
        [
            ApprovalStep(approval=approval, number=n, name=name, mode=mode)
            for n, (name, mode, _approvers) in enumerate(steps, start=1)
        ]
    )
    ApprovalStepUser.objects.bulk_create(
        [
            ApprovalStepUser(step=step, user=user)
            for step, (_name, _mode, approvers) in zip(created, steps, strict=True)
            for user in approvers
        ]
    )
    approval.flow = flow
    approval.is_custom = is_custom
    approval.current_step = 0
    approval.save(update_fields=["flow", "is_custom", "current_step", "updated_at"])


def _preview_chain(flow: ApprovalFlow | None) -> list[policy.ChainStep]:
    """A draft's chain before approval is requested: the flow as written (the request's own
    chain is built, for its final amount and preparers, at request approval)."""
    if flow is None:
        return []
    return [(step.name, step.mode, step.approvers) for step in policy.flow_steps(flow)]


def _resolve_chain(
    *, actor: User | None, amount: Decimal, flow: ApprovalFlow | None, steps: Sequence[StepSpec] | None
) -> tuple[list[policy.ChainStep], ApprovalFlow | None, bool]:
    """(steps, source flow, custom?) for a draft. Inline steps or a chosen flow make a custom
    chain and need `approvals.customize_chain` (CHAIN-FROM-POLICY)."""
    if flow is not None and steps is not None:
        raise ValidationFailed(_("Give either a flow or inline steps, not both."), code="FLOW_AND_STEPS")
    if steps is not None:
        policy.ensure_may_customize(actor)
        return _clean_steps(steps), None, True
    if flow is not None:
        policy.ensure_may_customize(actor)
        if not flow.is_active:
            raise ValidationFailed(
                _("This approval flow is not active."), code="FLOW_INACTIVE", details={"flow": [flow.pk]}
            )
        return _preview_chain(flow), flow, True
    by_amount = policy.flow_for_amount(amount)
    return _preview_chain(by_amount), by_amount, False


# --- PR create / update / delete ------------------------------------------------------------------
PR_EDITABLE_FIELDS = ("name", "type", "amount", "currency", "note", "bank_name", "bank_account", "account_name")


def _apply_pr_fields(pr: PaymentRequest, fields: dict[str, Any], payment_method: PaymentMethod | None) -> None:
    for key, value in fields.items():
        if key not in PR_EDITABLE_FIELDS:
            raise ValidationFailed(_("Unknown field."), details={key: [_("Unknown field.")]})
        if key == "amount":
            value = _money(value, "amount")
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
    if derived is not None and _money(fields["amount"], "amount") != derived:
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
    steps: Sequence[StepSpec] | None = None,
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
    chain, source_flow, is_custom = _resolve_chain(actor=actor, amount=pr.amount, flow=flow, steps=steps)
    with transaction.atomic():
        pr.save()
        approval = Approval.objects.create(pr=pr, flow=source_flow)
        _write_chain(approval, chain, source_flow, is_custom=is_custom)
        preparers_add(pr=pr, users=[pr.maker, actor], action="create_pr")
        audit(
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
    from payments.services import invoice_link

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
            chain, source_flow, _custom = _resolve_chain(actor=actor, amount=pr.amount, flow=None, steps=None)
            _write_chain(_lock_approval(pr), chain, source_flow, is_custom=False)
    return pr


def payment_request_update(
    *,
    pr: PaymentRequest,
    actor: User | None,
    payment_method: PaymentMethod | None = None,
    flow: ApprovalFlow | None = _UNSET,
    steps: Sequence[StepSpec] | None = _UNSET,
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
        if flow is not _UNSET or steps is not _UNSET:
            approval = _lock_approval(pr)
            chain, source_flow, is_custom = _resolve_chain(
                actor=actor,
                amount=pr.amount,
                flow=None if flow is _UNSET else flow,
                steps=None if steps is _UNSET else steps,
            )
            _write_chain(approval, chain, source_flow, is_custom=is_custom)
            metadata.update(
                {
                    "chain_replaced": True,
                    "flow": source_flow.pk if source_flow else None,
                    "steps": len(chain),
                    "custom": is_custom,
                }
            )
        audit(action=PRAction.UPDATE, table="pr", record_id=pr.pk, actor=actor, metadata=metadata)
    return pr


def payment_request_delete(*, pr: PaymentRequest, actor: User | None) -> None:
    """Drafts only; its chain, attachments (not the files) and invoice links go with it."""
    with transaction.atomic():
        pr = payment_request_lock(pk=pr.pk)
        ensure_can_prepare(pr, actor, perm="delete")
        ensure_status(pr, S.DRAFT, action=_("delete"))
        audit(action=PRAction.DELETE, table="pr", record_id=pr.pk, actor=actor, metadata={"name": pr.name})
        pr.delete()


# --- request approvals ------------------------------------------------------------------------------
MIN_ADVANCED_DOCUMENTS = 1


def _ensure_ready_for_approval(pr: PaymentRequest) -> None:
    if pr.type == PaymentRequestType.ADVANCED:
        if not (pr.bank_account and pr.account_name):
            raise ValidationFailed(
                _("An advanced payment request needs a bank account and account holder name."),
                code="MISSING_BANK_DETAILS",
            )
        # ADVANCED-NEEDS-EVIDENCE: with no invoice behind a typed amount, approvers need a document.
        if not pr.invoice_links.exists() and pr.attachments.count() < MIN_ADVANCED_DOCUMENTS:
            raise ValidationFailed(
                _(
                    "A payment request without invoices needs a supporting document (contract, "
                    "quotation, advance request) attached before approval is requested."
                ),
                code="NO_SUPPORTING_DOCUMENT",
            )
    if pr.type == PaymentRequestType.DIRECT:
        if not pr.invoice_links.exists():
            raise ValidationFailed(_("A direct payment request needs at least one invoice."), code="NO_INVOICES")
        details = payment_request_bank_details(pr)
        if details.conflict:
            raise ValidationFailed(
                _(
                    "The invoices name different bank accounts: split them into separate "
                    "requests or use an advanced request."
                ),
                code="BANK_DETAILS_CONFLICT",
                details={"candidates": details.candidates},
            )
        if details.missing:
            raise ValidationFailed(
                _("An invoice of this request names no bank account: fill in its payment details first."),
                code="MISSING_BANK_DETAILS",
                details={"candidates": details.candidates},
            )
    if pr.amount <= 0:
        raise ValidationFailed(_("The amount must be greater than zero."), code="INVALID_AMOUNT")


def _chain_for_request(pr: PaymentRequest, approval: Approval, preparers: set[int]) -> list[ApprovalStep]:
    """CHAIN-FROM-POLICY: the amount's flow, copied now and frozen (later flow edits change
    nothing); a custom chain must contain it. Every step must have an eligible approver."""
    flow = policy.flow_for_amount(pr.amount)
    required = policy.policy_chain(flow, preparers) if flow is not None else None
    if approval.is_custom:
        current = [
            (step.name, step.mode, [su.user for su in step.step_users.all()])
            for step in approval.steps.order_by("number").prefetch_related("step_users__user")
        ]
        if not current:
            raise ValidationFailed(_("The payment request has no approval steps."), code="NO_APPROVAL_STEPS")
        policy.ensure_custom_chain_eligible(current, preparers)
        if required is not None:
            policy.ensure_covers_policy(current, required, flow)  # type: ignore[arg-type]
    else:
        if required is None:
            raise ValidationFailed(
                _("No active approval flow covers %(amount)s: ask an owner to set up an approval flow for this amount.")
                % {"amount": pr.amount},
                code="NO_FLOW_FOR_AMOUNT",
            )
        _write_chain(approval, required, flow, is_custom=False)
    return list(approval.steps.order_by("number"))


def payment_request_request_approval(*, pr: PaymentRequest, actor: User | None) -> PaymentRequest:
    """draft → pending: the amount, payee and chain are fixed now (docs/controls.md); the first
    step's approvers are told."""
    with transaction.atomic():
        pr = payment_request_lock(pk=pr.pk)
        ensure_can_prepare(pr, actor)
        if pr.status in (S.PENDING, S.APPROVED):
            raise ConflictError(_("Approval has already been requested."), code="ALREADY_REQUESTED")
        ensure_status(pr, S.DRAFT, action=_("request approval for"))
        approval = _lock_approval(pr)
        invoices = _linked_invoices(pr)  # locked: their payment details cannot change under us
        payment_request_sync_amount(pr)
        preparers_add(pr=pr, users=[actor], action="request_approval")
        editors = [user for i in invoices for user in i.payment_details_changed_by or []]
        preparers_add(pr=pr, users=editors, action="change_payee")
        preparers = preparer_ids([pr.pk])[pr.pk]
        _ensure_ready_for_approval(pr)
        steps = _chain_for_request(pr, approval, preparers)
        payee_freeze(pr)
        pr.status = S.PENDING
        # The rejection this draft answered is answered: the page stops showing it (the log keeps it).
        pr.rejection_reason, pr.rejected_at, pr.rejected_by = "", None, None
        pr.save()
        approval.current_step = steps[0].number
        approval.save(update_fields=["current_step", "updated_at"])
        audit(
            action=PRAction.REQUEST_APPROVAL,
            table="pr",
            record_id=pr.pk,
            actor=actor,
            metadata={
                "steps": [_step_snapshot(s) for s in steps],
                "amount": str(pr.amount),
                "flow": approval.flow_id,
                "custom": approval.is_custom,
                "payee": {
                    "bank_account": pr.payee_bank_account,
                    "account_name": pr.payee_account_name,
                    "tax_code": pr.payee_tax_code,
                    "new": pr.payee_is_new,
                },
            },
        )
        if pr.payee_is_new:
            security_event_record(
                kind=SecurityEventKind.NEW_PAYEE,
                user=actor,
                details={
                    "pr": pr.pk,
                    "bank_account": pr.payee_bank_account,
                    "account_name": pr.payee_account_name,
                    "tax_code": pr.payee_tax_code,
                    "previous_bank_account": pr.previous_bank_account,
                },
            )
        events.approvals_requested(pr, steps[0])
    return pr


# --- approve ----------------------------------------------------------------------------------------
# One implementation serves a single approval and a bulk approval of many PRs: it locks the PR
# rows (ascending id), then their approval rows, reads every chain in a fixed number of queries,
# decides each PR with the same pure rules, and writes all the outcomes in a few statements.
@dataclass
class _StepState:
    step: ApprovalStep
    approver_ids: list[int]
    records: list[ApprovalRecord]


class _Delegators:
    """Whom the actor substitutes for today (company time zone), read at most once per call."""

    def __init__(self, actor: User):
        self.actor = actor
        self._ids: set[int] | None = None

    def among(self, approver_ids: Iterable[int]) -> list[int]:
        if self._ids is None:
            today = _today()
            self._ids = set(
                ApprovalDelegation.objects.filter(
                    substitute=self.actor, start_date__lte=today, end_date__gte=today
                ).values_list("approver_id", flat=True)
            )
        return [pk for pk in approver_ids if pk in self._ids]


def _choose_slot(
    pr: PaymentRequest, state: _StepState, actor: User, delegators: _Delegators, preparers: set[int]
) -> int:
    """Whose place on the current step `actor` fills, or the refusal that applies.
    PREPARER-NEVER-APPROVES: nobody who prepared the request approves it, in their own place or
    as a substitute, and a preparer's place is filled by nobody (ALLOW_SELF_APPROVAL, for a
    one-person company, lifts the first rule only)."""
    filled = {r.approver_id for r in state.records}
    if any(r.acted_by_id == actor.pk for r in state.records):
        raise ConflictError(
            _("You have already approved this step."), code="ALREADY_APPROVED", details={"step": state.step.number}
        )
    if actor.pk in state.approver_ids:
        if actor.pk in preparers and not settings.ALLOW_SELF_APPROVAL:
            raise PermissionDeniedError(
                _(
                    "You prepared this payment request (you made it, changed it, or requested its approval): "
                    "someone who did not prepare it must approve it."
                ),
                code="SELF_APPROVAL",
            )
        if actor.pk in filled:
            raise ConflictError(
                _("Your approval on this step has already been given by your substitute."),
                code="ALREADY_APPROVED",
                details={"step": state.step.number},
            )
        return actor.pk
    standing_in_for = delegators.among(state.approver_ids)
    if not standing_in_for:
        raise PermissionDeniedError(
            _("You are not an approver of the current step."),
            code="NOT_AN_APPROVER",
            details={"step": state.step.number},
        )
    if actor.pk in preparers:
        raise PermissionDeniedError(
            _("A substitute never approves a payment request they prepared."), code="SELF_APPROVAL"
        )
    standing_in_for = [pk for pk in standing_in_for if pk not in preparers or settings.ALLOW_SELF_APPROVAL]
    if not standing_in_for:
        raise PermissionDeniedError(
            _(
                "The approver you stand in for prepared this payment request: their place "
                "cannot be filled by a substitute."
            ),
            code="SELF_APPROVAL",
        )
    open_slots = [pk for pk in standing_in_for if pk not in filled]
    if not open_slots:
        raise ConflictError(
            _("This approval has already been given."), code="ALREADY_APPROVED", details={"step": state.step.number}
        )
    return open_slots[0]


def _is_satisfied(state: _StepState) -> bool:
    if state.step.mode == StepMode.ANYOF:
        return bool(state.records)
    return {r.approver_id for r in state.records} >= set(state.approver_ids)


@dataclass
class _Chain:
    pr: PaymentRequest
    approval: Approval | None
    steps: dict[int, ApprovalStep]  # by number
    approvers: dict[int, list[int]]  # step id → user ids, in assignment order
    records: list[ApprovalRecord]
    preparers: set[int]


@dataclass
class _Decision:
    chain: _Chain
    record: ApprovalRecord
    satisfied: bool
    next_step: ApprovalStep | None


def _load_chains(pks: list[int]) -> list[_Chain]:
    """Lock the PRs (ascending id), then their approvals (same order), and read the chains and
    the preparers: six queries whatever the number of PRs."""
    prs = list(PaymentRequest.objects.select_for_update(of=("self",)).filter(pk__in=pks).order_by("id"))
    approvals = {
        a.pr_id: a for a in Approval.objects.select_for_update().filter(pr_id__in=[p.pk for p in prs]).order_by("pr_id")
    }
    approval_ids = [a.pk for a in approvals.values()]
    steps: dict[int | None, dict[int, ApprovalStep]] = {}  # looked up by a PR's approval id, None without one
    step_owner: dict[int, int] = {}
    for step in ApprovalStep.objects.filter(approval_id__in=approval_ids).order_by("approval_id", "number"):
        steps.setdefault(step.approval_id, {})[step.number] = step
        step_owner[step.pk] = step.approval_id
    approvers: dict[int, list[int]] = {}
    for step_id, user_id in (
        ApprovalStepUser.objects.filter(step_id__in=list(step_owner)).order_by("id").values_list("step_id", "user_id")
    ):
        approvers.setdefault(step_id, []).append(user_id)
    records: dict[int | None, list[ApprovalRecord]] = {}
    for record in ApprovalRecord.objects.filter(approval_id__in=approval_ids).order_by("id"):
        records.setdefault(record.approval_id, []).append(record)
    preparers = preparer_ids([p.pk for p in prs])
    chains = []
    for pr in prs:
        approval = approvals.get(pr.pk)
        aid = approval.pk if approval else None
        chains.append(
            _Chain(
                pr=pr,
                approval=approval,
                steps=steps.get(aid, {}),
                approvers=approvers,
                records=records.get(aid, []),
                preparers=preparers[pr.pk],
            )
        )
    return chains


def _decide(chain: _Chain, actor: User, delegators: _Delegators, step: int | None) -> _Decision:
    """The approve rules, on data already read under the locks. Raises the refusal."""
    pr, approval = chain.pr, chain.approval
    mine = [r for r in chain.records if r.acted_by_id == actor.pk]
    if pr.status != S.PENDING:
        if pr.status in (S.APPROVED, S.COMPLETED) and mine:
            raise ConflictError(_("You have already approved this payment request."), code="ALREADY_APPROVED")
        ensure_status(pr, S.PENDING, action=_("approve"))
    if approval is None or approval.current_step not in chain.steps:
        raise InvalidState(_("The approval chain is broken."), code="INVALID_STATE")
    current = chain.steps[approval.current_step]
    if step is not None and step != current.number:
        if any(r.step_id == getattr(chain.steps.get(step), "pk", None) for r in mine):
            raise ConflictError(
                _("You have already approved this step."), code="ALREADY_APPROVED", details={"step": step}
            )
        raise ConflictError(
            _("The chain has moved on: step %(n)d is no longer awaiting approval.") % {"n": step},
            code="STEP_CHANGED",
            details={"current_step": current.number},
        )
    state = _StepState(
        step=current,
        approver_ids=chain.approvers.get(current.pk, []),
        records=[r for r in chain.records if r.step_id == current.pk],
    )
    try:
        slot = _choose_slot(pr, state, actor, delegators, chain.preparers)
    except PermissionDeniedError as exc:
        # A repeat of an approval that already moved the chain on is a conflict, not a stranger.
        if exc.code == "NOT_AN_APPROVER" and mine:
            raise ConflictError(_("You have already approved this payment request."), code="ALREADY_APPROVED") from None
        raise
    record = ApprovalRecord(approval=approval, step=current, approver_id=slot, acted_by=actor)
    state.records.append(record)
    later = [n for n in chain.steps if n > current.number]
    next_step = chain.steps[min(later)] if later else None
    return _Decision(chain=chain, record=record, satisfied=_is_satisfied(state), next_step=next_step)


def _apply(decisions: list[_Decision], actor: User) -> None:
    """Write the decided outcomes: records in one INSERT, status and pointer changes in a few
    UPDATEs, one semantic audit entry per PR; then the event hooks."""
    if not decisions:
        return
    ApprovalRecord.objects.bulk_create([d.record for d in decisions])
    now = timezone.now()
    approved = [d.chain.pr.pk for d in decisions if d.satisfied and d.next_step is None]
    if approved:
        PaymentRequest.objects.filter(pk__in=approved).update(status=S.APPROVED, updated_at=now)
    moves: dict[int, list[int]] = {}
    for d in decisions:
        if d.satisfied and d.next_step is not None:
            moves.setdefault(d.next_step.number, []).append(d.chain.approval.pk)  # type: ignore[union-attr]
    for number, approval_ids in moves.items():
        Approval.objects.filter(pk__in=approval_ids).update(current_step=number, updated_at=now)
    entries: list[tuple[str | int, dict[str, Any]]] = []
    for d in decisions:
        pr, approval = d.chain.pr, d.chain.approval
        last = d.satisfied and d.next_step is None
        if last:
            pr.status = S.APPROVED
        elif d.satisfied and approval is not None and d.next_step is not None:
            approval.current_step = d.next_step.number
        entries.append(
            (
                pr.pk,
                {
                    "step": d.record.step.number,
                    "on_behalf_of": d.record.approver_id if d.record.approver_id != actor.pk else None,
                    "step_satisfied": d.satisfied,
                    "pr_approved": last,
                },
            )
        )
    audit_log_many(action=PRAction.APPROVE, table="pr", actor=actor, entries=entries)
    with events.batch():  # one write of all the PRs' notifications, not a few statements per PR
        for d in decisions:
            pr = d.chain.pr
            last = d.satisfied and d.next_step is None
            if last:
                events.pr_approved(pr)
            elif d.satisfied and d.next_step is not None:
                events.step_advanced(pr, d.next_step)


def _approve_many(pks: list[int], actor: User, *, step: int | None = None) -> tuple[list[_Chain], dict[int, Any]]:
    """Call inside one transaction. Returns the chains read and, per PR id, either the
    decision applied or the refusal (an AcounteeError); ids not found are absent."""
    chains = _load_chains(pks)
    delegators = _Delegators(actor)
    outcome: dict[int, Any] = {}
    decisions = []
    for chain in chains:
        try:
            decision = _decide(chain, actor, delegators, step)
        except AcounteeError as exc:
            outcome[chain.pr.pk] = exc
        else:
            decisions.append(decision)
            outcome[chain.pr.pk] = decision
    _apply(decisions, actor)
    return chains, outcome


def payment_request_approve(*, pr: PaymentRequest, actor: User, step: int | None = None) -> PaymentRequest:
    """Approve the current step (as an assigned approver, or as the substitute of one).

    anyof: one approval satisfies the step; allof: every assigned approver's place must be
    filled. A satisfied step advances the chain; the last one makes the PR approved. `step`,
    when given, must be the current step (protects a stale screen from approving the next)."""
    with transaction.atomic():
        try:
            chains, outcome = _approve_many([int(pr.pk)], actor, step=step)
        except IntegrityError:  # the unique constraints: a second line behind the PR lock
            raise ConflictError(_("You have already approved this step."), code="ALREADY_APPROVED") from None
        if not chains:
            raise NotFoundError(_("Payment request not found."), code="NOT_FOUND")
        result = outcome[chains[0].pr.pk]
        if isinstance(result, AcounteeError):
            raise result
        approved = chains[0].pr
        approved.approval = chains[0].approval
        return approved


@dataclass
class BulkApproveResult:
    approved: list[int]
    failed: list[dict[str, Any]]


BULK_BATCH = 100


def payment_requests_bulk_approve(*, ids: Iterable[int], actor: User) -> BulkApproveResult:
    """Approve many PRs, each succeeding or failing on its own, in ascending id order (the
    global lock order). PRs go in batches of BULK_BATCH per short transaction: every rule is
    decided per PR before anything is written, so a refusal never touches the others; if the
    database itself refuses a batch, that batch is redone one PR per transaction."""
    try:
        unique_ids = sorted({int(i) for i in ids})
    except (TypeError, ValueError):
        raise ValidationFailed(_("Ids must be integers."), details={"ids": [_("Ids must be integers.")]}) from None
    if len(unique_ids) > MAX_BULK_APPROVE:
        raise ValidationFailed(_("At most %d payment requests at once.") % MAX_BULK_APPROVE, code="TOO_MANY_IDS")
    outcome: dict[int, Any] = {}
    for start in range(0, len(unique_ids), BULK_BATCH):
        batch = unique_ids[start : start + BULK_BATCH]
        try:
            with transaction.atomic():
                _chains, batch_outcome = _approve_many(batch, actor)
            outcome.update(batch_outcome)
        except DatabaseError:
            for pk in batch:  # one by one: whatever the database refused stays with its PR
                try:
                    with transaction.atomic():
                        _chains, single = _approve_many([pk], actor)
                    outcome.update(single)
                except IntegrityError:
                    outcome[pk] = ConflictError(_("You have already approved this step."), code="ALREADY_APPROVED")
                except DatabaseError as exc:  # lock_timeout (BUSY), disk full…: this PR fails, the others go on
                    failure = domain_error(exc)
                    outcome[pk] = (
                        failure.error
                        if failure
                        else ConflictError(_("The payment request is busy; try again."), code="BUSY")
                    )
    result = BulkApproveResult(approved=[], failed=[])
    for pk in unique_ids:
        got = outcome.get(pk)
        if got is None:
            result.failed.append({"id": pk, "code": "NOT_FOUND", "message": str(_("Payment request not found."))})
        elif isinstance(got, AcounteeError):
            result.failed.append({"id": pk, "code": got.code, "message": str(got.message)})
        else:
            result.approved.append(pk)
    return result


# --- retract ---------------------------------------------------------------------------------------
def payment_request_retract(*, pr: PaymentRequest, actor: User) -> PaymentRequest:
    """Withdraw one's own approval (given by oneself, or in one's name by a substitute) on
    the current step — or on the step just satisfied, as long as nobody approved after it.
    The chain moves back to that step; an approved PR returns to pending."""
    with transaction.atomic():
        pr = payment_request_lock(pk=pr.pk)
        if pr.status not in (S.PENDING, S.APPROVED):
            ensure_status(pr, S.PENDING, S.APPROVED, action=_("retract an approval on"))
        approval = _lock_approval(pr)
        mine = Q(acted_by=actor) | Q(approver=actor)
        current = approval.current_step
        records = ApprovalRecord.objects.filter(approval=approval).select_related("step")
        target_step: int | None = None
        if pr.status == S.APPROVED or records.filter(mine, step__number=current).exists():
            target_step = current
        elif not records.filter(step__number=current).exists():
            previous = ApprovalStep.objects.filter(approval=approval, number__lt=current).order_by("-number").first()
            if previous is not None:
                target_step = previous.number
        record = records.filter(mine, step__number=target_step).order_by("-id").first() if target_step else None
        if record is None:
            raise ConflictError(_("You have no approval that can be withdrawn."), code="NOTHING_TO_RETRACT")
        assert target_step is not None  # a record was found on it (narrows the type)
        record.delete()
        moved_back = target_step != current
        if moved_back:
            approval.current_step = target_step
            approval.save(update_fields=["current_step", "updated_at"])
        was = pr.status
        if pr.status == S.APPROVED:
            pr.status = S.PENDING
            pr.save(update_fields=["status", "updated_at"])
        audit(
            action=PRAction.RETRACT,
            table="pr",
            record_id=pr.pk,
            actor=actor,
            metadata={
                "step": target_step,
                "on_behalf_of": record.approver_id if record.approver_id != actor.pk else None,
                "acted_by": record.acted_by_id,
                "from_status": was,
                "chain_moved_back": moved_back,
            },
        )
    return pr


# --- reject / recall -----------------------------------------------------------------------------
def _back_to_draft(pr: PaymentRequest, approval: Approval) -> list[dict[str, Any]]:
    cleared = [
        {"step": number, "approver": approver, "acted_by": acted_by, "approved_at": at.isoformat()}
        for number, approver, acted_by, at in ApprovalRecord.objects.filter(approval=approval)
        .order_by("id")
        .values_list("step__number", "approver_id", "acted_by_id", "approved_at")
    ]
    ApprovalRecord.objects.filter(approval=approval).delete()
    approval.current_step = 0
    approval.save(update_fields=["current_step", "updated_at"])
    pr.status = S.DRAFT
    payee_release(pr)
    pr.save()
    return cleared


def payment_request_reject(*, pr: PaymentRequest, actor: User, reason: str) -> PaymentRequest:
    """An approver of the current step (or their substitute) sends the PR back to draft with
    a reason; all approvals are cleared (the audit log keeps them) and the maker is told."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            _("A reason is required to reject."),
            code="REASON_REQUIRED",
            details={"reason": [_("This field is required.")]},
        )
    if len(reason) > 2000:
        raise ValidationFailed(_("The reason is too long."), details={"reason": [_("At most 2000 characters.")]})
    with transaction.atomic():
        # The chain read the way approve reads it (_load_chains: PR, then approval, locked).
        chains = _load_chains([int(pr.pk)])
        if not chains:
            raise NotFoundError(_("Payment request not found."), code="NOT_FOUND")
        pr, approval = chains[0].pr, chains[0].approval
        ensure_status(pr, S.PENDING, action=_("reject"))
        current = chains[0].steps.get(approval.current_step) if approval is not None else None
        approver_ids = chains[0].approvers.get(current.pk, []) if current is not None else []
        if actor.pk not in approver_ids and not _Delegators(actor).among(approver_ids):
            raise PermissionDeniedError(_("You are not an approver of the current step."), code="NOT_AN_APPROVER")
        assert approval is not None  # a pending request has its chain (the status check above)
        step_number = approval.current_step
        # On the row, for the maker's page (saved with the status by _back_to_draft).
        pr.rejection_reason, pr.rejected_at, pr.rejected_by = reason, timezone.now(), actor
        cleared = _back_to_draft(pr, approval)
        audit(
            action=PRAction.REJECT,
            table="pr",
            record_id=pr.pk,
            actor=actor,
            metadata={"reason": reason, "step": step_number, "cleared_records": cleared},
        )
        events.pr_rejected(pr, reason)
    return pr


def payment_request_recall(*, pr: PaymentRequest, actor: User) -> PaymentRequest:
    """The maker pulls a pending PR back to draft (to fix it); approvals are cleared."""
    with transaction.atomic():
        pr = payment_request_lock(pk=pr.pk)
        if pr.maker_id != actor.pk:
            raise PermissionDeniedError(_("Only the maker can recall a payment request."), code="NOT_MAKER")
        ensure_status(pr, S.PENDING, action=_("recall"))
        approval = _lock_approval(pr)
        step_number = approval.current_step
        cleared = _back_to_draft(pr, approval)
        audit(
            action=PRAction.RECALL,
            table="pr",
            record_id=pr.pk,
            actor=actor,
            metadata={"step": step_number, "cleared_records": cleared},
        )
    return pr


# --- complete / un-complete ------------------------------------------------------------------------
def _linked_invoices(pr: PaymentRequest) -> list[Any]:
    """The PR's invoices, locked (after the PR: lock order PR → invoices)."""
    from invoices.models import Invoice

    return list(Invoice.objects.select_for_update().filter(pr_link__pr=pr).order_by("id"))


def payment_request_complete(
    *,
    pr: PaymentRequest,
    actor: User | None,
    payment_reference: str = "",
) -> PaymentRequest:
    """approved → completed (finance paid it), with the bank's reference; the linked
    invoices become completed in the same transaction."""
    with transaction.atomic():
        refusal = payment_requests_complete_many(references={pr.pk: payment_reference}, actor=actor).get(pr.pk)
        if refusal is not None:
            raise refusal
        return PaymentRequest.objects.get(pk=pr.pk)


COMPLETE_BATCH = 500


def payment_requests_complete_many(
    *,
    references: dict[int, str],
    actor: User | None,
) -> dict[int, AcounteeError | None]:
    """Complete many approved PRs, each with its own bank reference (the paid-file import;
    `payment_request_complete` is the one-PR case of the same path). Per PR the answer is
    None (completed) or the refusal. Batches of COMPLETE_BATCH in ascending id order (the global
    lock order PR → invoices); within a batch every rule is checked under the locks before
    anything is written, so one refusal never touches the others."""
    _ensure_can_complete(actor)
    outcome: dict[int, AcounteeError | None] = {}
    cleaned: dict[int, str] = {}
    for pk, reference in references.items():
        reference = (reference or "").strip()
        if len(reference) > 128:
            outcome[int(pk)] = ValidationFailed(
                _("The payment reference is too long."), details={"payment_reference": [_("At most 128 characters.")]}
            )
        else:
            cleaned[int(pk)] = reference
    ids = sorted(cleaned)
    for start in range(0, len(ids), COMPLETE_BATCH):
        with transaction.atomic():
            outcome.update(_complete_batch(ids[start : start + COMPLETE_BATCH], cleaned, actor))
    return outcome


def _complete_batch(
    ids: list[int],
    references: dict[int, str],
    actor: User | None,
) -> dict[int, AcounteeError | None]:
    from invoices.models import Invoice, InvoiceStatus
    from invoices.services import invoices_mark_completed

    outcome: dict[int, AcounteeError | None] = {}
    locked = {pr.pk: pr for pr in PaymentRequest.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    candidates: list[PaymentRequest] = []
    for pk in ids:
        pr = locked.get(pk)
        if pr is None:
            outcome[pk] = NotFoundError(_("Payment request not found."))
        elif pr.status == S.COMPLETED:
            outcome[pk] = ConflictError(_("This payment request is already completed."), code="ALREADY_COMPLETED")
        else:
            try:
                ensure_status(pr, S.APPROVED, action=_("complete"))
            except AcounteeError as exc:
                outcome[pk] = exc
            else:
                candidates.append(pr)
    invoices_by_pr: dict[int, list[Any]] = {}
    for invoice in (
        Invoice.objects.select_for_update()
        .filter(pr_link__pr__in=candidates)
        .annotate(linked_pr=F("pr_link__pr_id"))
        .order_by("id")
    ):
        invoices_by_pr.setdefault(invoice.linked_pr, []).append(invoice)
    ready: list[PaymentRequest] = []
    for pr in candidates:
        payable = (InvoiceStatus.IMPORTED, InvoiceStatus.COMPLETED)
        stuck = [i for i in invoices_by_pr.get(pr.pk, []) if i.status not in payable]
        if stuck:
            outcome[pr.pk] = InvalidState(
                _("Invoice %(number)s is %(status)s.")
                % {"number": stuck[0].number, "status": InvoiceStatus(stuck[0].status).label},
                details={"id": stuck[0].pk, "status": stuck[0].status},
            )
        else:
            ready.append(pr)
    if not ready:
        return outcome
    now = timezone.now()
    for pr in ready:
        pr.status, pr.payment_reference, pr.completed_at, pr.updated_at = S.COMPLETED, references[pr.pk], now, now
    # One UPDATE joining the (id, reference) pairs: bulk_update's CASE expression costs ~1 ms
    # of Python per row, two thirds of a 10,000-row paid import.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pr SET status = %s, payment_reference = v.reference, completed_at = %s, updated_at = %s"
            " FROM unnest(%s::bigint[], %s::text[]) AS v(id, reference) WHERE pr.id = v.id",
            [S.COMPLETED, now, now, [pr.pk for pr in ready], [pr.payment_reference for pr in ready]],
        )
    invoices = [i for pr in ready for i in invoices_by_pr.get(pr.pk, [])]
    if invoices:
        invoices_mark_completed(invoices=invoices, actor=actor)
    audit_log_many(
        action=PRAction.COMPLETE,
        table="pr",
        actor=actor,
        entries=[
            (
                pr.pk,
                {"payment_reference": pr.payment_reference, "invoices": [i.pk for i in invoices_by_pr.get(pr.pk, [])]},
            )
            for pr in ready
        ],
    )
    with events.batch():
        for pr in ready:
            events.pr_completed(pr)
            outcome[pr.pk] = None
    return outcome


def payment_request_uncomplete(*, pr: PaymentRequest, actor: User | None, reason: str) -> PaymentRequest:
    """completed → approved (a payment bounced, or was recorded by mistake); the linked
    invoices are reopened. UNCOMPLETE-CONTROLLED: its own permission and a reason, both in the
    audit entry with the old reference, and a security event (an approved request can be paid again)."""
    if actor is not None and not actor.has_perm("payments.uncomplete_paymentrequest"):
        raise PermissionDeniedError(
            _("Reversing a recorded payment needs the permission to un-complete payment requests."),
            code="PERMISSION_DENIED",
        )
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            _("A reason is required to un-complete a payment request."),
            code="REASON_REQUIRED",
            details={"reason": [_("This field is required.")]},
        )
    if len(reason) > 2000:
        raise ValidationFailed(_("The reason is too long."), details={"reason": [_("At most 2000 characters.")]})
    with transaction.atomic():
        pr = payment_request_lock(pk=pr.pk)
        if pr.status == S.APPROVED:
            raise ConflictError(_("This payment request is not completed."), code="NOT_COMPLETED")
        ensure_status(pr, S.COMPLETED, action=_("un-complete"))
        old_reference = pr.payment_reference
        pr.status = S.APPROVED
        pr.payment_reference = ""
        pr.completed_at = None
        pr.save(update_fields=["status", "payment_reference", "completed_at", "updated_at"])
        invoices = _linked_invoices(pr)
        if invoices:
            from invoices.services import invoices_mark_reopened

            invoices_mark_reopened(invoices=invoices, actor=actor)
        audit(
            action=PRAction.UNCOMPLETE,
            table="pr",
            record_id=pr.pk,
            actor=actor,
            metadata={"payment_reference": old_reference, "invoices": [i.pk for i in invoices], "reason": reason},
        )
        security_event_record(
            kind=SecurityEventKind.PAYMENT_UNCOMPLETED,
            user=actor,
            details={"pr": pr.pk, "payment_reference": old_reference, "reason": reason},
        )
    return pr


# --- flows ---------------------------------------------------------------------------------------------
def _flow_range(min_amount: Any, max_amount: Any) -> tuple[Decimal | None, Decimal | None]:
    lo = None if min_amount in (None, "") else _money(min_amount, "min_amount")
    hi = None if max_amount in (None, "") else _money(max_amount, "max_amount")
    if lo is not None and hi is not None and lo >= hi:
        raise ValidationFailed(
            _("The minimum must be below the maximum."),
            code="INVALID_RANGE",
            details={"max_amount": [_("Must be greater than the minimum.")]},
        )
    return lo, hi


def _save_flow(flow: ApprovalFlow) -> None:
    try:
        with transaction.atomic():
            flow.save()
    except IntegrityError as exc:
        text = str(exc)
        if "approval_flows_active_ranges_disjoint" in text:
            raise Duplicate(
                _("The amount range overlaps another active flow."),
                code="FLOW_RANGE_OVERLAP",
                details={"min_amount": [str(flow.min_amount)], "max_amount": [str(flow.max_amount)]},
            ) from None
        if "approval_flows_name" in text or "name" in text:
            raise Duplicate(_("An approval flow with this name already exists."), code="DUPLICATE") from None
        raise


def _clean_alternates(steps: Sequence[StepSpec]) -> list[list[User]]:
    """Each step's alternates: active, distinct, none of them also an approver of the step."""
    out = []
    for index, step in enumerate(steps, start=1):
        alternates = list(step.get("alternates") or [])
        approver_ids = {u.pk for u in step.get("approvers") or []}
        if len({u.pk for u in alternates}) != len(alternates) or approver_ids & {u.pk for u in alternates}:
            raise ValidationFailed(
                _("Step %(n)d names a person twice (an alternate is not also an approver).") % {"n": index},
                code="DUPLICATE_APPROVER",
                details={"steps": {index: {"alternates": [_("Each person once.")]}}},
            )
        if len(alternates) > MAX_APPROVERS_PER_STEP:
            raise ValidationFailed(_("Too many approvers in one step."), details={"steps": {index: {}}})
        inactive = [u.pk for u in alternates if not u.is_active]
        if inactive:
            raise ValidationFailed(
                _("Inactive users cannot approve."),
                code="INACTIVE_APPROVER",
                details={"steps": {index: {"alternates": inactive}}},
            )
        out.append(alternates)
    return out


def _write_flow_steps(flow: ApprovalFlow, steps: Sequence[StepSpec]) -> None:
    cleaned = _clean_steps(steps)
    alternates = _clean_alternates(steps)
    ApprovalFlowStep.objects.filter(flow=flow).delete()
    created = ApprovalFlowStep.objects.bulk_create(
        [
            ApprovalFlowStep(flow=flow, number=n, name=name, mode=mode)
            for n, (name, mode, _a) in enumerate(cleaned, start=1)
        ]
    )
    ApprovalFlowStepUser.objects.bulk_create(
        [
            ApprovalFlowStepUser(step=step, user=user)
            for step, (_n, _m, approvers) in zip(created, cleaned, strict=True)
            for user in approvers
        ]
        + [
            ApprovalFlowStepUser(step=step, user=user, is_alternate=True)
            for step, users in zip(created, alternates, strict=True)
            for user in users
        ]
    )


def _flow_snapshot(flow: ApprovalFlow) -> dict[str, Any]:
    return {
        "name": flow.name,
        "is_active": flow.is_active,
        "min_amount": None if flow.min_amount is None else str(flow.min_amount),
        "max_amount": None if flow.max_amount is None else str(flow.max_amount),
        "steps": [
            {
                "number": s.number,
                "name": s.name,
                "mode": s.mode,
                "approvers": [su.user_id for su in s.step_users.all() if not su.is_alternate],
                "alternates": [su.user_id for su in s.step_users.all() if su.is_alternate],
            }
            for s in flow.steps.order_by("number").prefetch_related("step_users")
        ],
    }


def approval_flow_create(
    *,
    actor: User | None,
    name: str,
    steps: Sequence[StepSpec],
    description: str = "",
    is_active: bool = True,
    min_amount: Any = None,
    max_amount: Any = None,
) -> ApprovalFlow:
    """Owners only. A flow needs at least one step with approvers."""
    _ensure_owner(actor)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("A name is required."), details={"name": [_("This field is required.")]})
    if not steps:
        raise ValidationFailed(_("A flow needs at least one step."), code="NO_APPROVAL_STEPS")
    lo, hi = _flow_range(min_amount, max_amount)
    with transaction.atomic():
        if ApprovalFlow.objects.filter(name__iexact=name).exists():
            raise Duplicate(_("An approval flow with this name already exists."))
        flow = ApprovalFlow(name=name, description=description or "", is_active=is_active, min_amount=lo, max_amount=hi)
        _save_flow(flow)
        _write_flow_steps(flow, steps)
        audit(
            action=FlowAction.CREATE,
            table="approval_flows",
            record_id=flow.pk,
            actor=actor,
            metadata=_flow_snapshot(flow),
        )
    return flow


def approval_flow_update(
    *, flow: ApprovalFlow, actor: User | None, steps: Sequence[StepSpec] | None = None, **fields: Any
) -> ApprovalFlow:
    """Owners only. Replacing the steps never touches PRs already created from the flow."""
    _ensure_owner(actor)
    allowed = {"name", "description", "is_active", "min_amount", "max_amount"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationFailed(_("Unknown field."), details={k: [_("Unknown field.")] for k in sorted(unknown)})
    with transaction.atomic():
        flow = ApprovalFlow.objects.select_for_update().get(pk=flow.pk)
        before = _flow_snapshot(flow)
        if "name" in fields:
            name = (fields["name"] or "").strip()
            if not name:
                raise ValidationFailed(_("A name is required."), details={"name": [_("This field is required.")]})
            if ApprovalFlow.objects.filter(name__iexact=name).exclude(pk=flow.pk).exists():
                raise Duplicate(_("An approval flow with this name already exists."))
            flow.name = name
        if "description" in fields:
            flow.description = fields["description"] or ""
        if "is_active" in fields:
            flow.is_active = bool(fields["is_active"])
        if "min_amount" in fields or "max_amount" in fields:
            flow.min_amount, flow.max_amount = _flow_range(
                fields.get("min_amount", flow.min_amount), fields.get("max_amount", flow.max_amount)
            )
        _save_flow(flow)
        if steps is not None:
            if not steps:
                raise ValidationFailed(_("A flow needs at least one step."), code="NO_APPROVAL_STEPS")
            _write_flow_steps(flow, steps)
        audit(
            action=FlowAction.UPDATE,
            table="approval_flows",
            record_id=flow.pk,
            actor=actor,
            metadata={"before": before, "after": _flow_snapshot(flow)},
        )
    return flow


def approval_flow_delete(*, flow: ApprovalFlow, actor: User | None) -> None:
    """Owners only. Submitted PRs keep their copied chain; a draft takes the flow for its amount
    when approval is requested."""
    _ensure_owner(actor)
    with transaction.atomic():
        locked = ApprovalFlow.objects.select_for_update().filter(pk=flow.pk).first()
        if locked is None:
            raise NotFoundError()
        flow = locked
        audit(
            action=FlowAction.DELETE,
            table="approval_flows",
            record_id=flow.pk,
            actor=actor,
            metadata=_flow_snapshot(flow),
        )
        flow.delete()


# --- delegation ----------------------------------------------------------------------------------------
def approval_delegation_create(
    *, actor: User, approver: User, substitute: User, start_date: date, end_date: date, note: str = ""
) -> ApprovalDelegation:
    """An approver names a substitute for a date range (owners may do it for anyone)."""
    if actor.pk != approver.pk and not actor.is_owner:
        raise PermissionDeniedError(_("You can only delegate your own approvals."), code="NOT_DELEGATOR")
    if approver.pk == substitute.pk:
        raise ValidationFailed(_("Nobody can be their own substitute."), code="SELF_DELEGATION")
    if not substitute.is_active:
        raise ValidationFailed(_("The substitute is inactive."), code="INACTIVE_APPROVER")
    if end_date < start_date:
        raise ValidationFailed(
            _("The end date is before the start date."),
            code="INVALID_RANGE",
            details={"end_date": [_("Must not be before the start date.")]},
        )
    with transaction.atomic():
        delegation = ApprovalDelegation.objects.create(
            approver=approver,
            substitute=substitute,
            start_date=start_date,
            end_date=end_date,
            note=(note or "")[:255],
            created_by=actor,
        )
        audit(
            action=DelegationAction.CREATE,
            table="approval_delegations",
            record_id=delegation.pk,
            actor=actor,
            metadata={
                "approver": approver.pk,
                "substitute": substitute.pk,
                "start_date": start_date.isoformat(),
                "end_date": end_date.isoformat(),
            },
        )
    return delegation


def approval_delegation_delete(*, delegation: ApprovalDelegation, actor: User) -> None:
    if actor.pk != delegation.approver_id and not actor.is_owner:
        raise PermissionDeniedError(_("You can only end your own delegations."), code="NOT_DELEGATOR")
    with transaction.atomic():
        audit(
            action=DelegationAction.DELETE,
            table="approval_delegations",
            record_id=delegation.pk,
            actor=actor,
            metadata={"approver": delegation.approver_id, "substitute": delegation.substitute_id},
        )
        delegation.delete()
