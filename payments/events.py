"""The moments of a PR's life that people must hear about (docs/notifications.md).

Every lifecycle service calls these *inside* its transaction, after the change is written,
so whatever they record commits or rolls back with the change itself. Every hook also tells open
pages (a NOTIFY sent at commit, docs/live.md). The notifications capability (docs/notifications.md)
writes its outbox here: in-app notifications and pending e-mail deliveries
(`payments.notifications.services`), in a savepoint whose failure never fails the change, and never
sending anything under a row lock (the `dispatch_notifications` worker sends after commit). The webhooks
capability (docs/webhooks.md) records each moment as an `Event` (the events feed) with a pending delivery
per subscribed endpoint, in the same transaction (`payments.webhooks.services`). The invoices app, below
payments, reaches its hook here through a signal sent inside its own transaction (`invoices/signals.py`). And
every hook bumps the request's `updated_at` when the service did not already (an approval recorded, a step
advanced, an invoice or an attachment added or removed change other tables only): `?updated_since=` never misses a
change (docs/API.md, Syncing a list).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from django.db.models import DateTimeField, Func

from acountee import live
from payments.notifications import services as notifications
from payments.webhooks import services as webhooks
from payments.webhooks.models import EventType

if TYPE_CHECKING:
    from approvals.models import ApprovalStep
    from invoices.models import Invoice
    from payments.models import PaymentRequest


@contextmanager
def batch() -> Iterator[None]:
    """Wrap the hooks of a multi-PR operation (bulk approve): their outbox rows and events are written, and
    open pages told (docs/live.md), together when the block ends (still inside the transaction)."""
    if getattr(_touch, "pending", None) is not None:  # nested: the outer block flushes
        with live.batch(), notifications.batch(), webhooks.batch():
            yield
        return
    _touch.pending = set()
    try:
        with live.batch(), notifications.batch(), webhooks.batch():
            yield
        pending = _touch.pending
    finally:
        _touch.pending = None
    _bump(pending)


_touch = threading.local()


def _bump(pr_ids: Iterable[int]) -> None:
    """`updated_at` to the database's clock, for the requests this transaction has not saved yet (`updated_at`
    before the transaction's start, `transaction_timestamp()`): one UPDATE, matching no row when the service saved
    them already."""
    from payments.models import PaymentRequest  # the models import this module's callers, not the reverse

    ids = sorted(set(pr_ids))
    if ids:
        started = Func(function="transaction_timestamp", output_field=DateTimeField())
        PaymentRequest.objects.filter(pk__in=ids, updated_at__lt=started).update(
            updated_at=Func(function="clock_timestamp", output_field=DateTimeField())
        )


def _changed(pr_id: int) -> None:
    live.prs_changed([pr_id])
    pending = getattr(_touch, "pending", None)
    if pending is not None:
        pending.add(pr_id)
    else:
        _bump([pr_id])


def pr_changed(pr: PaymentRequest) -> None:
    """Anything people may be looking at changed (status, chain, amount, invoices, attachments): open
    pages are told at commit (a NOTIFY in this transaction, docs/live.md); nobody is notified."""
    _changed(pr.pk)


def approvals_requested(pr: PaymentRequest, step: ApprovalStep) -> None:
    """The PR entered the chain: `step` (the first) awaits its approvers."""
    _changed(pr.pk)
    notifications.notify_approvals_requested(pr=pr, step=step)
    webhooks.record_approvals_requested(pr=pr, step_number=step.number)


def step_advanced(pr: PaymentRequest, step: ApprovalStep) -> None:
    """A step was satisfied and `step` (the next one) now awaits its approvers."""
    _changed(pr.pk)
    notifications.notify_step_advanced(pr=pr, step=step)
    webhooks.record_pr_event(type=EventType.STEP_ADVANCED, pr=pr, step={"number": step.number})


def pr_approved(pr: PaymentRequest) -> None:
    """The last step was satisfied: the maker (and finance) may pay."""
    _changed(pr.pk)
    notifications.notify_pr_approved(pr=pr)
    webhooks.record_pr_event(type=EventType.APPROVED, pr=pr)


def pr_rejected(pr: PaymentRequest, reason: str) -> None:
    """An approver rejected the PR back to draft: the maker must hear why."""
    _changed(pr.pk)
    notifications.notify_pr_rejected(pr=pr, reason=reason)
    webhooks.record_pr_event(type=EventType.REJECTED, pr=pr, reason=reason)


def pr_completed(pr: PaymentRequest) -> None:
    """Finance paid the PR."""
    _changed(pr.pk)
    notifications.notify_pr_completed(pr=pr)
    webhooks.record_pr_event(type=EventType.COMPLETED, pr=pr)


def pr_uncompleted(pr: PaymentRequest, reason: str) -> None:
    """A recorded payment was reversed (UNCOMPLETE-CONTROLLED): the request is payable again (the service saved
    its `updated_at` and called pr_changed)."""
    webhooks.record_pr_event(type=EventType.UNCOMPLETED, pr=pr, reason=reason)


def pr_recalled(pr: PaymentRequest, step_number: int) -> None:
    """The maker pulled a pending PR back to draft (its approvals cleared) while `step_number` was current."""
    _changed(pr.pk)
    webhooks.record_pr_event(type=EventType.RECALLED, pr=pr, step={"number": step_number})


def approval_retracted(pr: PaymentRequest, step_number: int, chain_moved_back: bool) -> None:
    """An approver withdrew an approval on `step_number`; an approved PR is pending again."""
    _changed(pr.pk)
    webhooks.record_pr_event(
        type=EventType.APPROVAL_RETRACTED, pr=pr, step={"number": step_number}, chain_moved_back=chain_moved_back
    )


def invoice_marked_obsolete(invoice: Invoice, **_: object) -> None:
    """The `invoice_marked_obsolete` receiver (invoices/signals.py): the invoice will not be paid."""
    webhooks.record_invoice_event(type=EventType.INVOICE_OBSOLETE, invoice=invoice)
