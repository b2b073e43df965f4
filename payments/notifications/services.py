"""Writes of the notifications capability (docs/notifications.md).

Two halves that never meet inside one transaction:

- **Outbox** (`notify_*`): called by `payments.events` inside the approval's transaction.
  They write the in-app `Notification`s and the `pending` e-mail `NotificationDelivery` rows
  in a savepoint; if anything in here fails, the savepoint rolls back, the error is logged and
  the approval goes on (a notification is never in the approval's way). Nothing is sent here.
- **Worker** (`deliveries_dispatch`): after commit, claims due deliveries one at a time with
  SELECT … FOR UPDATE SKIP LOCKED (several workers side by side never share a row), sends,
  and records `sent` or `failed` with the error, the attempt count and the next attempt time
  (exponential backoff, NOTIFICATION_MAX_ATTEMPTS).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import get_connection
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from acountee.errors import InvalidState, NotFoundError, NotOwner
from acountee.money import format_money
from payments.notifications import channels
from payments.notifications.audit_actions import DeliveryAction
from payments.notifications.models import (
    DELIVERY_TRANSITIONS,
    DeliveryStatus,
    Notification,
    NotificationChannel,
    NotificationDelivery,
    NotificationKind,
    NotificationPreference,
)

if TYPE_CHECKING:
    from accounts.models import User
    from approvals.models import ApprovalStep
    from payments.models import PaymentRequest

logger = logging.getLogger(__name__)
D = DeliveryStatus
K = NotificationKind
MAX_ERROR_LENGTH = 2000
# PostgreSQL NOTIFY channel: the outbox notifies it in the approval's transaction, so workers
# blocked in LISTEN wake at commit (never on rollback) instead of waiting for their next poll.
WAKE_CHANNEL = "acountee_notifications"


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
    """Per step: its approvers and, for each, the substitute standing in for them today.
    Two queries for any number of steps."""
    from approvals.models import ApprovalDelegation, ApprovalStepUser

    steps = {e.step.pk: e for e in events if e.step is not None}
    if not steps:
        return {}
    from payments.selectors import preparer_ids

    preparers = preparer_ids(list({e.pr.pk for e in steps.values()}))
    approvers: dict[int, list[int]] = {}
    for step_id, user_id in (
        ApprovalStepUser.objects.filter(step_id__in=list(steps)).order_by("id").values_list("step_id", "user_id")
    ):
        if settings.ALLOW_SELF_APPROVAL or user_id not in preparers.get(steps[step_id].pr.pk, ()):
            approvers.setdefault(step_id, []).append(user_id)
    today = timezone.localdate()
    substitutes: dict[int, list[int]] = {}
    all_approvers = {pk for ids in approvers.values() for pk in ids}
    for approver_id, substitute_id in (
        ApprovalDelegation.objects.filter(approver_id__in=all_approvers, start_date__lte=today, end_date__gte=today)
        .order_by("id")
        .values_list("approver_id", "substitute_id")
    ):
        substitutes.setdefault(approver_id, []).append(substitute_id)
    out: dict[int, list[Recipient]] = {}
    for step_id, ids in approvers.items():
        blocked = preparers.get(steps[step_id].pr.pk, set())
        recipients = {pk: Recipient(pk) for pk in ids}
        for approver_id in ids:
            for substitute_id in substitutes.get(approver_id, []):
                if substitute_id not in blocked:
                    recipients.setdefault(substitute_id, Recipient(substitute_id, on_behalf_of_id=approver_id))
        out[step_id] = list(recipients.values())
    return out


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


# --- inbox ---------------------------------------------------------------------------------------------
def _own(notification_id: int, user: User) -> Notification:
    notification = (
        Notification.objects.select_for_update()
        .filter(pk=notification_id, recipient=user, in_app=True, dismissed_at__isnull=True)
        .first()
    )
    if notification is None:
        raise NotFoundError(_("Notification not found."), code="NOTIFICATION_NOT_FOUND")
    return notification


def notification_mark_read(*, notification_id: int, user: User) -> Notification:
    """Mark one of the user's notifications read (again is fine: nothing changes)."""
    with transaction.atomic():
        notification = _own(notification_id, user)
        if notification.read_at is None:
            notification.read_at = timezone.now()
            notification.save(update_fields=["read_at"])
    return notification


def notification_dismiss(*, notification_id: int, user: User) -> Notification:
    """Remove one of the user's notifications from their inbox (it counts as read)."""
    with transaction.atomic():
        notification = _own(notification_id, user)
        now = timezone.now()
        notification.dismissed_at = now
        notification.read_at = notification.read_at or now
        notification.save(update_fields=["dismissed_at", "read_at"])
    return notification


def notifications_mark_all_read(*, user: User) -> int:
    """Mark every unread notification of the user read; returns how many changed."""
    return Notification.objects.filter(recipient=user, in_app=True, read_at__isnull=True).update(read_at=timezone.now())


def notifications_mark_read_for_pr(*, user: Any, pr_id: int) -> int:
    """The user opened the PR (API detail or admin page): its notifications are read. One
    indexed read when there is nothing unread (the usual case: no write, no audit context),
    and an UPDATE only when there is."""
    if not getattr(user, "is_authenticated", False):
        return 0
    unread = Notification.objects.filter(recipient=user, pr_id=pr_id, read_at__isnull=True)
    if not unread.exists():
        return 0
    return unread.update(read_at=timezone.now())


def notification_preference_update(
    *, user: User, in_app: bool | None = None, email: bool | None = None
) -> NotificationPreference:
    """Change the user's own channels; unspecified channels keep their value."""
    with transaction.atomic():
        pref, _created = NotificationPreference.objects.select_for_update().get_or_create(user=user)
        changed = []
        if in_app is not None and pref.in_app != in_app:
            pref.in_app = bool(in_app)
            changed.append("in_app")
        if email is not None and pref.email != email:
            pref.email = bool(email)
            changed.append("email")
        if changed:
            pref.save(update_fields=[*changed, "updated_at"])
    return pref


# --- delivery log (owners) --------------------------------------------------------------------------------
def _ensure_owner(actor: Any) -> None:
    if actor is None or not getattr(actor, "is_owner", False):
        raise NotOwner()


def delivery_retry(*, delivery: NotificationDelivery, actor: User) -> NotificationDelivery:
    """An owner sends a failed delivery again: back to pending, due now (the worker grants it
    one more attempt even when the automatic attempts are used up)."""
    from audit.services import audit_log

    _ensure_owner(actor)
    with transaction.atomic():
        locked = NotificationDelivery.objects.select_for_update().filter(pk=delivery.pk).first()
        if locked is None:
            raise NotFoundError(_("Delivery not found."), code="DELIVERY_NOT_FOUND")
        if locked.status not in DELIVERY_TRANSITIONS["retry"]:
            raise InvalidState(
                _("Only failed deliveries can be retried."),
                code="DELIVERY_NOT_FAILED",
                details={"status": locked.status},
            )
        locked.status = DELIVERY_TRANSITIONS["retry"][locked.status]
        locked.next_attempt_at = timezone.now()
        locked.save(update_fields=["status", "next_attempt_at", "updated_at"])
        audit_log(
            action=DeliveryAction.RETRY,
            table="notification_deliveries",
            record_id=locked.pk,
            actor=actor,
            metadata={"attempts": locked.attempts, "last_error": locked.last_error[:200]},
        )
    return locked


def deliveries_retry_failed(*, ids: Iterable[int], actor: User) -> int:
    """The admin action: retry each failed delivery among `ids`; others are skipped."""
    _ensure_owner(actor)
    done = 0
    for pk in sorted(set(ids)):
        try:
            delivery_retry(delivery=NotificationDelivery(pk=pk), actor=actor)
        except (InvalidState, NotFoundError):
            continue
        done += 1
    return done


# --- worker ------------------------------------------------------------------------------------------------
def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the `attempts`-th failure: base, 2·base, 4·base … capped."""
    seconds = settings.NOTIFICATION_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    return timedelta(seconds=min(seconds, settings.NOTIFICATION_RETRY_MAX_SECONDS))


@dataclass
class DispatchResult:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.sent) + len(self.failed)


def _claim(now: datetime) -> NotificationDelivery | None:
    return (
        NotificationDelivery.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("notification__recipient")
        .filter(status__in=[D.PENDING, D.FAILED], next_attempt_at__isnull=False, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .first()
    )


class PermanentFailure(Exception):
    """A failure that retrying cannot fix (the recipient left): recorded, not retried."""


def _deliver(delivery: NotificationDelivery, connection: Any) -> None:
    recipient = delivery.notification.recipient
    if not recipient.is_active or not recipient.email:
        raise PermanentFailure("the recipient is inactive or has no e-mail address")
    delivery.address = recipient.email
    channels.send_email(delivery.notification, address=recipient.email, delivery_id=delivery.pk, connection=connection)


def deliveries_dispatch(
    *, now: datetime | None = None, limit: int | None = None, connection: Any = None
) -> DispatchResult:
    """One pass of the worker: deliver every due delivery (at most `limit`), one per short
    transaction holding only that row's lock. Channel failures are recorded, never raised."""
    result = DispatchResult()
    own_connection = connection is None
    connection = connection or get_connection(fail_silently=False)
    try:
        while limit is None or result.count < limit:
            at = now or timezone.now()
            with transaction.atomic():
                delivery = _claim(at)
                if delivery is None:
                    break
                delivery.attempts += 1
                try:
                    _deliver(delivery, connection)
                except Exception as exc:
                    _close_quietly(connection)
                    error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH]
                    logger.warning(
                        "notifications: delivery %s failed (attempt %s): %s", delivery.pk, delivery.attempts, error
                    )
                    delivery.status = DELIVERY_TRANSITIONS["fail"][delivery.status]
                    delivery.last_error = error
                    retry = delivery.attempts < settings.NOTIFICATION_MAX_ATTEMPTS and not isinstance(
                        exc, PermanentFailure
                    )
                    delivery.next_attempt_at = at + retry_delay(delivery.attempts) if retry else None
                    result.failed.append(delivery.pk)
                else:
                    delivery.status = DELIVERY_TRANSITIONS["send"][delivery.status]
                    delivery.sent_at = timezone.now()
                    delivery.next_attempt_at = None
                    result.sent.append(delivery.pk)
                delivery.save(
                    update_fields=[
                        "status",
                        "attempts",
                        "last_error",
                        "next_attempt_at",
                        "sent_at",
                        "address",
                        "updated_at",
                    ]
                )
    finally:
        if own_connection:
            _close_quietly(connection)
    return result


def _close_quietly(connection: Any) -> None:
    try:
        connection.close()
    except Exception:  # a broken SMTP session may fail to QUIT; the next send reconnects
        logger.debug("notifications: closing the mail connection failed", exc_info=True)


def worker_run(
    *,
    stop: threading.Event,
    poll_seconds: float,
    limit: int = 100,
    on_pass: Callable[[DispatchResult], Any] | None = None,
) -> None:
    """The worker loop: deliver what is due, then wait for a wake-up (NOTIFY at the commit of
    an outbox write) or `poll_seconds` (retries that fall due, missed wake-ups), until `stop`.
    A database outage is logged and waited out."""
    from django.db import DatabaseError, close_old_connections

    listener = None
    while not stop.is_set():
        try:
            close_old_connections()
            if listener is None:
                listener = _listen()
            result = deliveries_dispatch(limit=limit)
            if on_pass is not None and result.count:
                on_pass(result)
            if result.count >= limit:
                continue  # more may be due: no wait
        except DatabaseError:
            logger.exception("notifications: database error in the worker; waiting")
            _close_listener(listener)
            listener = None
        _wait(listener, stop, poll_seconds)
    _close_listener(listener)


def _listen() -> Any:
    """A dedicated autocommit connection LISTENing on WAKE_CHANNEL (None if it cannot be made:
    the worker then just polls)."""
    import psycopg

    try:
        conn = psycopg.connect(**connection.get_connection_params(), autocommit=True)
        conn.execute(f"LISTEN {WAKE_CHANNEL}")
        return conn
    except Exception:
        logger.warning("notifications: cannot LISTEN, polling only", exc_info=True)
        return None


def _close_listener(listener: Any) -> None:
    if listener is not None:
        try:
            listener.close()
        except Exception:
            logger.debug("notifications: closing the listener failed", exc_info=True)


def _wait(listener: Any, stop: threading.Event, poll_seconds: float) -> None:
    """Up to `poll_seconds`, in short slices so a stop request is seen within a second."""
    deadline = timezone.now() + timedelta(seconds=poll_seconds)
    while not stop.is_set() and timezone.now() < deadline:
        if listener is None:
            stop.wait(min(1.0, poll_seconds))
            continue
        try:
            if any(True for _ in listener.notifies(timeout=min(1.0, poll_seconds), stop_after=1)):
                return
        except Exception:
            logger.warning("notifications: listener lost, polling", exc_info=True)
            stop.wait(min(1.0, poll_seconds))
            return
