"""Recording events (docs/webhooks.md), inside the transaction of the change that caused them: called by
`payments.events` (payment requests) and by the invoice importer's `invoices_imported` signal. One event row,
and one pending delivery per active endpoint subscribed to its type; nothing is sent here.

Events are part of the change: if writing them fails, the change fails (a feed with silent gaps would be
worse than a refused action). Their ids are the feed's cursor, so they must become visible in id order:
the writer takes a transaction-level advisory lock before taking ids and holds it until commit, so the
next writer takes its ids only after this one's are visible. Writers call this last in their transaction
(hooks come after the change), so the lock is held for the commit alone.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone

from payments.webhooks.models import DeliveryStatus, Event, EventType, WebhookDelivery, WebhookEndpoint
from payments.webhooks.services.common import WAKE_CHANNEL

if TYPE_CHECKING:
    from payments.models import PaymentRequest

# pg_advisory_xact_lock key of the event writers ("acountee events").
EVENTS_LOCK = 0x61636E74_65767473 & 0x7FFFFFFFFFFFFFFF


@dataclass
class PendingEvent:
    type: str
    payload: dict[str, Any]


_batch = threading.local()


@contextmanager
def batch() -> Iterator[None]:
    """Collect the events of a multi-PR operation (bulk approve, the paid import) and write them together on
    leaving the block (still inside the transaction). Nested blocks join the outer one; an exception discards
    the batch (the change rolls back)."""
    if getattr(_batch, "events", None) is not None:
        yield
        return
    _batch.events = []
    try:
        yield
        events = _batch.events
    finally:
        _batch.events = None
    if events:
        events_write(events)


def _emit(event: PendingEvent) -> None:
    pending = getattr(_batch, "events", None)
    if pending is not None:
        pending.append(event)
    else:
        events_write([event])


def events_write(events: list[PendingEvent]) -> list[Event]:
    """Write events and their deliveries: four statements (lock, events, endpoints, deliveries) for any
    number of events, plus a NOTIFY when something is to be sent."""
    if not events:
        return []
    # Inside the caller's transaction (a savepoint): the lock is held until the caller commits. Called outside
    # one, this block is the transaction, so the lock still covers the inserts and their commit.
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [EVENTS_LOCK])
        now = timezone.now()
        rows = Event.objects.bulk_create([Event(type=e.type, occurred_at=now, payload=e.payload) for e in events])
        endpoints = list(WebhookEndpoint.objects.filter(is_active=True).only("pk", "event_types"))
        deliveries = [
            WebhookDelivery(event=row, endpoint=endpoint, status=DeliveryStatus.PENDING, next_attempt_at=now)
            for row in rows
            for endpoint in endpoints
            if row.type in endpoint.event_types
        ]
        if deliveries:
            WebhookDelivery.objects.bulk_create(deliveries)
            with connection.cursor() as cursor:  # wakes listening workers at commit; dropped on rollback
                cursor.execute("SELECT pg_notify(%s, '')", [WAKE_CHANNEL])
    return rows


# --- payloads: stable English keys, money as strings (docs/webhooks.md) -------------------------------------
def pr_payload(pr: PaymentRequest) -> dict[str, Any]:
    return {
        "id": pr.pk,
        "name": pr.name,
        "type": pr.type,
        "status": pr.status,
        "amount": str(pr.amount),
        "currency": pr.currency,
        "maker_id": pr.maker_id,
        "payment_reference": pr.payment_reference or None,
    }


def payee_payload(pr: PaymentRequest) -> dict[str, Any]:
    return {
        "bank_name": pr.payee_bank_name,
        "bank_account": pr.payee_bank_account,
        "account_name": pr.payee_account_name,
        "tax_code": pr.payee_tax_code,
        "is_new": pr.payee_is_new,
        "previous_bank_account": pr.previous_bank_account or None,
    }


def record_pr_event(*, type: str, pr: PaymentRequest, **extra: Any) -> None:
    """Record `type` for `pr` (called by `payments.events`); `extra` joins the payload (a reason, a step)."""
    payload: dict[str, Any] = {"payment_request": pr_payload(pr), **extra}
    if type in (EventType.APPROVAL_REQUESTED, EventType.NEW_PAYEE):
        payload["payee"] = payee_payload(pr)
    _emit(PendingEvent(type=str(type), payload=payload))


def record_approvals_requested(*, pr: PaymentRequest, step_number: int) -> None:
    """Approval requested; and, when the payee account was never paid before (NEW-PAYEE-FLAGGED), a
    `payment_request.new_payee` alert with it."""
    record_pr_event(type=EventType.APPROVAL_REQUESTED, pr=pr, step={"number": step_number})
    if pr.payee_is_new:
        record_pr_event(type=EventType.NEW_PAYEE, pr=pr)


def invoice_payload(invoice: Any) -> dict[str, Any]:
    return {
        "id": invoice.pk,
        "template_code": invoice.template_code,
        "series": invoice.series,
        "number": invoice.number,
        "issue_date": invoice.issue_date.isoformat(),
        "seller_name": invoice.seller_name,
        "seller_tax_code": invoice.seller_tax_code,
        "amount": str(invoice.total_payable),
        "currency": invoice.currency,
        "status": invoice.status,
    }


def record_invoices_imported(*, invoice_ids: Iterable[int], **_: Any) -> None:
    """The `invoices_imported` receiver: one `invoice.imported` event per invoice of the batch, in the batch's
    transaction (one read of the invoices)."""
    from invoices.models import Invoice

    ids = sorted(set(invoice_ids))
    if not ids:
        return
    fields = [
        "id",
        "template_code",
        "series",
        "number",
        "issue_date",
        "seller_name",
        "seller_tax_code",
        "total_payable",
        "currency",
        "status",
    ]
    invoices = Invoice.objects.filter(pk__in=ids).only(*fields).order_by("id")
    _emit_many(
        [PendingEvent(type=EventType.INVOICE_IMPORTED, payload={"invoice": invoice_payload(i)}) for i in invoices]
    )


def record_invoice_event(*, type: str, invoice: Any) -> None:
    """Record `type` for one invoice (called by `payments.events`), its payload as `invoice.imported`'s."""
    _emit(PendingEvent(type=str(type), payload={"invoice": invoice_payload(invoice)}))


def _emit_many(events: list[PendingEvent]) -> None:
    pending = getattr(_batch, "events", None)
    if pending is not None:
        pending.extend(events)
    else:
        events_write(events)
