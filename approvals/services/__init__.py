"""The payment-request lifecycle and approval flows (docs/payments.md, docs/controls.md): the one
orchestrator of a PR's life. Every service that changes a PR's status or its approval chain lives in
this package, one module per sub-domain, because `approvals` sits above `payments` (`payments` never
imports `approvals`; docs/architecture.md):

- `drafts`: create (also from invoices), update, delete — a draft;
- `submission`: request approval — the amount, payee and chain fixed (docs/controls.md);
- `decisions`: approve (one or in bulk) and retract;
- `returns`: reject and recall — back to draft;
- `payment`: complete and un-complete;
- `flows`, `delegations`: the owners' approval flows, the approvers' substitutes;
- `common`: limits, the step shape and the helpers they share.

Concurrency (docs/concurrency.md): each transition opens one transaction, locks the PR row
(`payments.services.payment_request_lock`), then the approval row, re-checks every rule against
what it just read and writes. All writers of a PR's chain go through here, so the PR row lock
serialises them; the database's unique constraints on approval records are the second line.
Repeating an action that already happened is refused with a 409 and a specific code
(ALREADY_APPROVED, ALREADY_REQUESTED, ALREADY_COMPLETED, …), never applied twice.

Callers use this package's names (`from approvals import services`); the modules are its parts.
"""

from approvals.services.common import StepSpec
from approvals.services.decisions import (
    BulkApproveResult,
    payment_request_approve,
    payment_request_retract,
    payment_requests_bulk_approve,
)
from approvals.services.delegations import approval_delegation_create, approval_delegation_delete
from approvals.services.drafts import (
    payment_request_create,
    payment_request_create_from_invoices,
    payment_request_delete,
    payment_request_update,
)
from approvals.services.flows import approval_flow_create, approval_flow_delete, approval_flow_update
from approvals.services.payment import (
    payment_request_complete,
    payment_request_uncomplete,
    payment_requests_complete_many,
)
from approvals.services.returns import payment_request_recall, payment_request_reject
from approvals.services.submission import payment_request_request_approval

__all__ = [
    "BulkApproveResult",
    "StepSpec",
    "approval_delegation_create",
    "approval_delegation_delete",
    "approval_flow_create",
    "approval_flow_delete",
    "approval_flow_update",
    "payment_request_approve",
    "payment_request_complete",
    "payment_request_create",
    "payment_request_create_from_invoices",
    "payment_request_delete",
    "payment_request_recall",
    "payment_request_reject",
    "payment_request_request_approval",
    "payment_request_retract",
    "payment_request_uncomplete",
    "payment_request_update",
    "payment_requests_bulk_approve",
    "payment_requests_complete_many",
]
