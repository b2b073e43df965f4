"""The payment request's writes (docs/payments.md, docs/controls.md): the one orchestrator of a
request's life, one module per sub-domain:

- `drafts`: create (also from invoices), update, delete — a draft;
- `links`, `attachments`: its invoices and supporting documents;
- `submission`: request approval — the amount, payee and chain fixed;
- `decisions`: approve (one or in bulk) and retract;
- `returns`: reject and recall — back to draft;
- `payment`: complete and un-complete;
- `methods`: the bank-account registry;
- `common`: the row lock, state and permission checks, preparers, amount and payee snapshot.

The chain itself is the approval engine's (`approvals.services`), called from here.
Concurrency (docs/concurrency.md): each transition opens one transaction, locks the PR row
(`payment_request_lock`), then its chain, re-checks every rule against what it just read and
writes. The PR row lock serialises all writers of one request; the database's unique constraints
on approval records are the second line. Repeating an action that already happened is refused with
a 409 and a specific code (ALREADY_APPROVED, ALREADY_REQUESTED, ALREADY_COMPLETED, …), never
applied twice.

Callers use this package's names (`from payments import services`); the modules are its parts.
"""

from payments.services.attachments import payment_request_attachment_add, payment_request_attachment_remove
from payments.services.common import (
    ensure_can_prepare,
    ensure_status,
    payment_request_lock,
    payment_request_sync_amount,
)
from payments.services.decisions import (
    BulkApproveResult,
    payment_request_approve,
    payment_request_retract,
    payment_requests_bulk_approve,
)
from payments.services.drafts import (
    payment_request_create,
    payment_request_create_from_invoices,
    payment_request_delete,
    payment_request_update,
)
from payments.services.links import invoice_link, invoice_move, invoice_unlink
from payments.services.methods import payment_method_create, payment_method_delete, payment_method_update
from payments.services.payment import (
    payment_request_complete,
    payment_request_uncomplete,
    payment_requests_complete_many,
)
from payments.services.returns import payment_request_recall, payment_request_reject
from payments.services.submission import payment_request_request_approval

__all__ = [
    "BulkApproveResult",
    "ensure_can_prepare",
    "ensure_status",
    "invoice_link",
    "invoice_move",
    "invoice_unlink",
    "payment_method_create",
    "payment_method_delete",
    "payment_method_update",
    "payment_request_approve",
    "payment_request_attachment_add",
    "payment_request_attachment_remove",
    "payment_request_complete",
    "payment_request_create",
    "payment_request_create_from_invoices",
    "payment_request_delete",
    "payment_request_lock",
    "payment_request_recall",
    "payment_request_reject",
    "payment_request_request_approval",
    "payment_request_retract",
    "payment_request_sync_amount",
    "payment_request_uncomplete",
    "payment_request_update",
    "payment_requests_bulk_approve",
    "payment_requests_complete_many",
]
