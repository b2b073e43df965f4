"""The moments of a PR's life that people must hear about (SPEC §4, §11).

Every lifecycle service calls these *inside* its transaction, after the change is written,
so whatever they record commits or rolls back with the change itself. Today they do only
what is real: nothing beyond the semantic audit entry the service already wrote. The
notifications capability (SPEC §11) fills them in by writing outbox rows here — in the same
transaction, never sending anything under a row lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from approvals.models import ApprovalStep
    from payments.models import PaymentRequest


def approvals_requested(pr: PaymentRequest, step: ApprovalStep) -> None:
    """The PR entered the chain: `step` (the first) awaits its approvers."""


def step_advanced(pr: PaymentRequest, step: ApprovalStep) -> None:
    """A step was satisfied and `step` (the next one) now awaits its approvers."""


def pr_approved(pr: PaymentRequest) -> None:
    """The last step was satisfied: the maker (and finance) may pay."""


def pr_rejected(pr: PaymentRequest, reason: str) -> None:
    """An approver rejected the PR back to draft: the maker must hear why."""


def pr_completed(pr: PaymentRequest) -> None:
    """Finance paid the PR."""
