"""Delivery (docs/notifications.md): after commit, the worker (`deliveries_dispatch`, `worker_run`) claims
due deliveries one at a time with SELECT … FOR UPDATE SKIP LOCKED (several workers side by side never
share a row), sends, and records `sent` or `failed` with the error, the attempt count and the next attempt
time (exponential backoff, NOTIFICATION_MAX_ATTEMPTS); owners retry failed ones."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from acountee.errors import InvalidState, NotFoundError, NotOwner
from payments.notifications import channels
from payments.notifications.audit_actions import DeliveryAction
from payments.notifications.models import (
    DELIVERY_TRANSITIONS,
    DeliveryStatus,
    NotificationDelivery,
)
from payments.notifications.services.common import WAKE_CHANNEL

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)
D = DeliveryStatus
MAX_ERROR_LENGTH = 2000


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
    also: Sequence[Callable[[int], int]] = (),
    also_channels: Sequence[str] = (),
) -> None:
    """The worker loop: deliver what is due, then wait for a wake-up (NOTIFY at the commit of
    an outbox write) or `poll_seconds` (retries that fall due, missed wake-ups), until `stop`.
    A database outage is logged and waited out. `also`: sibling outboxes' passes run in the same
    loop (each takes a limit, returns how many it handled; webhooks, docs/webhooks.md), woken by
    NOTIFY on `also_channels` too."""
    from django.db import DatabaseError, close_old_connections

    listener = None
    while not stop.is_set():
        try:
            close_old_connections()
            if listener is None:
                listener = _listen([WAKE_CHANNEL, *also_channels])
            result = deliveries_dispatch(limit=limit)
            if on_pass is not None and result.count:
                on_pass(result)
            others = [run(limit) for run in also]
            if result.count >= limit or any(n >= limit for n in others):
                continue  # more may be due: no wait
        except DatabaseError:
            logger.exception("notifications: database error in the worker; waiting")
            _close_listener(listener)
            listener = None
        _wait(listener, stop, poll_seconds)
    _close_listener(listener)


def _listen(channels: Sequence[str] = (WAKE_CHANNEL,)) -> Any:
    """A dedicated autocommit connection LISTENing on the wake channels (None if it cannot be made:
    the worker then just polls)."""
    import psycopg

    from acountee.db.direct import session_connection_params

    try:
        # The primary itself (PGURI_DIRECT), never PgBouncer's transaction mode (docs/deployment.md).
        conn = psycopg.connect(**session_connection_params(), autocommit=True)
        for channel in channels:
            conn.execute(f"LISTEN {channel}")
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
