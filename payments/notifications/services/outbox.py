"""The outbox (docs/notifications.md): `notify_*`, called by `payments.events` inside the transaction of
the change. They write the in-app `Notification`s and the `pending` e-mail `NotificationDelivery` rows in
a savepoint; if anything in here fails, the savepoint rolls back, the error is logged and the change goes
on (a notification is never in its way). Nothing is sent here."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from acountee import live
from acountee.money import format_money
from approvals.selectors import who_may_act
from payments.notifications import channels
from payments.notifications.models import (
    DeliveryStatus,
    Notification,
    NotificationChannel,
    NotificationDelivery,
    NotificationKind,
)
from payments.notifications.services.common import WAKE_CHANNEL

if TYPE_CHECKING:
    from approvals.models import ApprovalStep
    from payments.models import PaymentRequest

logger = logging.getLogger(__name__)
D = DeliveryStatus
K = NotificationKind


# --- outbox -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Recipient:
    user_id: int
    on_behalf_of_id: int | None = None


@dataclass
class Event:
    """One thing to tell: to the approvers (and substitutes) of `step`, or to `to_maker`.
    `text()` gives (title, body) in the active language; it runs once per recipient language,
    so each recipient reads (and is e-mailed) the notification in their own language."""

    kind: str
    pr: PaymentRequest
    text: Callable[[], tuple[str, str]]
    step: ApprovalStep | None = None


_batch = threading.local()


@contextmanager
def batch() -> Iterator[None]:
    """Collect the events of a multi-PR operation (bulk approve) and write them all at once
    on leaving the block: a fixed handful of statements instead of a few per PR. Nested
    blocks join the outer one; an exception discards the batch (the change rolls back)."""
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
        _never_in_the_way(lambda: _write(events))


def _emit(event: Event) -> None:
    pending = getattr(_batch, "events", None)
    if pending is not None:
        pending.append(event)
    else:
        _never_in_the_way(lambda: _write([event]))


def _never_in_the_way(write: Callable[[], Any]) -> None:
    """Run an outbox write in a savepoint of the caller's transaction; a failure is logged
    and undone, the caller's change stands."""
    try:
        with transaction.atomic():
            write()
    except Exception:
        logger.exception("notifications: outbox write failed; the approval goes on without it")


def _step_recipients(events: list[Event]) -> dict[int, list[Recipient]]:
    """Per step: who may act on it now (the engine's `who_may_act`: its approvers who did not prepare the
    request and the substitutes standing in for them today). Three queries for any number of steps."""
    steps = {e.step.pk: e for e in events if e.step is not None}
    if not steps:
        return {}
    from payments.selectors import preparer_ids

    preparers = preparer_ids(list({e.pr.pk for e in steps.values()}))
    acting = who_may_act({pk: preparers.get(e.pr.pk, set()) for pk, e in steps.items()})
    return {pk: [Recipient(a.user_id, a.on_behalf_of_id) for a in actors] for pk, actors in acting.items()}


def _write(events: list[Event]) -> list[Notification]:
    """One notification per recipient who wants any channel, plus a pending e-mail delivery
    for those who opted in to e-mail. At most five statements for any number of events."""
    from accounts.models import User

    by_step = _step_recipients(events)
    plan: list[tuple[Event, list[Recipient]]] = [
        (e, by_step.get(e.step.pk, []) if e.step is not None else [Recipient(e.pr.maker_id)]) for e in events
    ]
    user_ids = {pk for _e, rs in plan for r in rs for pk in (r.user_id, r.on_behalf_of_id) if pk}
    if not user_ids:
        return []
    by_id = {u.pk: u for u in User.objects.filter(pk__in=user_ids).select_related("notification_preference")}
    notifications: list[Notification] = []
    emails: list[tuple[Notification, Any]] = []
    texts: dict[tuple[int, str], tuple[str, str]] = {}

    def text_for(event: Event, language: str) -> tuple[str, str]:
        if (id(event), language) not in texts:
            texts[id(event), language] = event.text()
        return texts[id(event), language]

    for event, recipients in plan:
        for recipient in recipients:
            user = by_id.get(recipient.user_id)
            if user is None or not user.is_active:
                continue
            pref = getattr(user, "notification_preference", None)
            in_app = pref.in_app if pref else True
            email = bool(pref and pref.email and user.email)
            if not (in_app or email):
                continue
            language = channels.recipient_language(user)
            with translation.override(language):
                title, body = text_for(event, language)
                if recipient.on_behalf_of_id:
                    body = f"{body}\n{_substitute_note(by_id.get(recipient.on_behalf_of_id))}"
            notification = Notification(
                recipient=user,
                kind=event.kind,
                pr=event.pr,
                on_behalf_of_id=recipient.on_behalf_of_id,
                title=title[:255],
                body=body,
                in_app=in_app,
            )
            notifications.append(notification)
            if email:
                emails.append((notification, user))
    Notification.objects.bulk_create(notifications)
    live.unread_changed(n.recipient_id for n in notifications if n.in_app)  # their bells, at commit (docs/live.md)
    if emails:
        now = timezone.now()
        NotificationDelivery.objects.bulk_create(
            [
                NotificationDelivery(
                    notification=n,
                    channel=NotificationChannel.EMAIL,
                    status=D.PENDING,
                    address=user.email,
                    next_attempt_at=now,
                )
                for n, user in emails
            ]
        )
        with connection.cursor() as cursor:  # wakes listening workers at commit; dropped on rollback
            cursor.execute("SELECT pg_notify(%s, '')", [WAKE_CHANNEL])
    return notifications


def _pr_line(pr: PaymentRequest) -> str:
    # 21.670.000 ₫ in Vietnamese, 21,670,000 VND in English (acountee.money).
    return _("%(name)s — %(amount)s") % {"name": pr.name, "amount": format_money(pr.amount, pr.currency)}


def _payee_lines(pr: PaymentRequest) -> list[str]:
    """NEW-PAYEE-FLAGGED: every approver is told, in the notification itself, when the account
    was never paid before, and sees the supplier's previous account beside the new one."""
    lines = []
    if pr.payee_is_new:
        lines.append(
            _("Warning: new payee account %(account)s (%(holder)s), never paid before for this supplier.")
            % {"account": pr.payee_bank_account, "holder": pr.payee_account_name}
        )
    if pr.previous_bank_account:
        lines.append(
            _("Bank account changed: %(old)s (%(old_bank)s) → %(new)s (%(new_bank)s).")
            % {
                "old": pr.previous_bank_account,
                "old_bank": pr.previous_bank_name or "?",
                "new": pr.payee_bank_account,
                "new_bank": pr.payee_bank_name or "?",
            }
        )
    return lines


def _substitute_note(approver: Any) -> str:
    return _("You are told as the substitute of %(approver)s.") % {"approver": approver or "?"}


def _awaiting(kind: str, pr: PaymentRequest, step: ApprovalStep) -> Event:
    def text() -> tuple[str, str]:
        if kind == K.APPROVAL_REQUESTED:
            title = _("Payment request #%(id)s awaits your approval") % {"id": pr.pk}
        else:
            title = _("Payment request #%(id)s reached step %(number)s and awaits your approval") % {
                "id": pr.pk,
                "number": step.number,
            }
        step_line = _("Step %(number)s: %(name)s") % {"number": step.number, "name": step.name}
        return title, "\n".join([_pr_line(pr), step_line, *_payee_lines(pr)])

    return Event(kind=kind, pr=pr, text=text, step=step)


def notify_approvals_requested(*, pr: PaymentRequest, step: ApprovalStep) -> None:
    """Approval requested: the first step's approvers (and their substitutes) are told."""
    _emit(_awaiting(K.APPROVAL_REQUESTED, pr, step))


def notify_step_advanced(*, pr: PaymentRequest, step: ApprovalStep) -> None:
    """A step was satisfied: the next step's approvers (and their substitutes) are told."""
    _emit(_awaiting(K.STEP_ADVANCED, pr, step))


def notify_pr_approved(*, pr: PaymentRequest) -> None:
    """The last step was satisfied: the maker is told."""
    _emit(
        Event(
            K.APPROVED,
            pr,
            lambda: (
                _("Payment request #%(id)s is approved") % {"id": pr.pk},
                "\n".join([_pr_line(pr), _("It can now be paid.")]),
            ),
        )
    )


def notify_pr_rejected(*, pr: PaymentRequest, reason: str) -> None:
    """An approver rejected the PR back to draft: the maker is told why."""
    _emit(
        Event(
            K.REJECTED,
            pr,
            lambda: (
                _("Payment request #%(id)s was rejected") % {"id": pr.pk},
                "\n".join([_pr_line(pr), _("Reason: %(reason)s") % {"reason": reason}]),
            ),
        )
    )


def notify_pr_completed(*, pr: PaymentRequest) -> None:
    """Finance paid the PR: the maker is told."""

    def text() -> tuple[str, str]:
        lines = [_pr_line(pr)]
        if pr.payment_reference:
            lines.append(_("Payment reference: %(reference)s") % {"reference": pr.payment_reference})
        return _("Payment request #%(id)s was paid") % {"id": pr.pk}, "\n".join(lines)

    _emit(Event(K.COMPLETED, pr, text))
