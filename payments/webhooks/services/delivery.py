"""Sending (docs/webhooks.md): after commit, the worker claims one due delivery in a short transaction (SELECT …
FOR UPDATE SKIP LOCKED, the attempt counted and the row leased for WEBHOOK_TIMEOUT_SECONDS + a margin, commit),
POSTs the signed body with no transaction open and no row locked, then records the answer in a second short
transaction. A worker that dies mid-send leaves the row due again when the lease ends: at-least-once, like
every webhook; receivers deduplicate on `Acountee-Event-Id`."""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from payments.webhooks.models import DeliveryStatus, Event, WebhookDelivery
from payments.webhooks.services.common import signature_header

logger = logging.getLogger(__name__)
D = DeliveryStatus
MAX_ERROR_LENGTH = 2000
LEASE_MARGIN_SECONDS = 60
USER_AGENT = "Acountee-Webhooks/1"


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the `attempts`-th failure: base, 2·base, 4·base … capped at the maximum."""
    seconds = settings.WEBHOOK_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    return timedelta(seconds=min(seconds, settings.WEBHOOK_RETRY_MAX_SECONDS))


def event_body(event: Event) -> bytes:
    """The JSON body of every webhook sent for `event` (and an entry of the feed): compact UTF-8."""
    document = {
        "id": event.pk,
        "type": event.type,
        "occurred_at": event.occurred_at.isoformat(),
        "data": event.payload,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass
class WebhookDispatchResult:
    delivered: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.delivered) + len(self.retrying) + len(self.failed)


@dataclass
class _Claim:
    pk: int
    attempts: int
    url: str
    secret: str
    previous_secret: str
    event_id: int
    event_type: str
    body: bytes


@dataclass
class _Outcome:
    ok: bool
    code: int | None = None
    error: str = ""


def _previous_secret(endpoint: Any, now: datetime) -> str:
    """The old secret while a rotation's overlap lasts (it signs too), else ""."""
    expires = endpoint.previous_secret_expires_at
    return endpoint.previous_secret if endpoint.previous_secret and expires and expires > now else ""


def _claim(now: datetime) -> _Claim | None:
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("event", "endpoint")
            .filter(status=D.PENDING, next_attempt_at__lte=now, endpoint__is_active=True)
            .order_by("next_attempt_at", "id")
            .first()
        )
        if delivery is None:
            return None
        delivery.attempts += 1
        lease = settings.WEBHOOK_TIMEOUT_SECONDS + LEASE_MARGIN_SECONDS
        delivery.next_attempt_at = now + timedelta(seconds=lease)
        delivery.save(update_fields=["attempts", "next_attempt_at", "updated_at"])
        return _Claim(
            pk=delivery.pk,
            attempts=delivery.attempts,
            url=delivery.endpoint.url,
            secret=delivery.endpoint.secret,
            previous_secret=_previous_secret(delivery.endpoint, now),
            event_id=delivery.event_id,
            event_type=delivery.event.type,
            body=event_body(delivery.event),
        )


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not an instruction: 3xx counts as a failure (a webhook never follows one)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _opener() -> urllib.request.OpenerDirector:
    proxy = settings.WEBHOOK_PROXY
    proxies = {"http": proxy, "https": proxy} if proxy else {}
    return urllib.request.build_opener(urllib.request.ProxyHandler(proxies), _NoRedirects())


def _refused_target(url: str) -> str:
    """Why the worker will not POST to `url`, or "" (docs/webhooks.md, "Where webhooks may go"). Webhooks go
    to the internet: an address that is not public (the database's host, a cloud's metadata service, the
    office network) is refused unless WEBHOOK_ALLOW_PRIVATE_TARGETS says the receivers are on the LAN;
    outside production this machine's loopback is allowed (development receivers, the tests). Checked on
    the addresses the name resolves to now, at each attempt; with WEBHOOK_PROXY the proxy decides."""
    if settings.WEBHOOK_PROXY or settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        return ""
    parts = urlsplit(url)
    try:
        infos = socket.getaddrinfo(parts.hostname or "", parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        return f"DNS: {exc}"[:MAX_ERROR_LENGTH]
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address.is_global or (address.is_loopback and not settings.PRODUCTION):
            continue
        return f"refused: {address} is not a public address (WEBHOOK_ALLOW_PRIVATE_TARGETS)"
    return ""


def _send(claim: _Claim) -> _Outcome:
    refusal = _refused_target(claim.url)
    if refusal:
        return _Outcome(ok=False, error=refusal)
    timestamp = int(time.time())
    request = urllib.request.Request(  # noqa: S310 (the URL is an owner's https endpoint, checked at save)
        claim.url,
        data=claim.body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "Acountee-Event-Id": str(claim.event_id),
            "Acountee-Event-Type": claim.event_type,
            "Acountee-Signature": signature_header(
                secret=claim.secret, body=claim.body, timestamp=timestamp, previous_secret=claim.previous_secret
            ),
        },
    )
    try:
        with _opener().open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            response.read(65536)
            code = response.status
    except urllib.error.HTTPError as exc:  # an answer other than 2xx (3xx included: redirects are not followed)
        exc.close()
        return _Outcome(ok=False, code=exc.code, error=f"HTTP {exc.code}")
    except Exception as exc:  # timeouts, refused connections, TLS and DNS errors
        reason = getattr(exc, "reason", None) or exc
        return _Outcome(ok=False, error=f"{type(reason).__name__}: {reason}"[:MAX_ERROR_LENGTH])
    if 200 <= code < 300:
        return _Outcome(ok=True, code=code)
    return _Outcome(ok=False, code=code, error=f"HTTP {code}")


def _record(claim: _Claim, outcome: _Outcome, result: WebhookDispatchResult, at: datetime) -> None:
    """Write what happened, unless the row changed meanwhile (an owner's redelivery, another worker after the
    lease ended): compare-and-set on the attempt this worker claimed."""
    now = timezone.now()
    changes: dict[str, Any] = {"last_response_code": outcome.code, "last_error": outcome.error, "updated_at": now}
    if outcome.ok:
        changes.update(status=D.DELIVERED, delivered_at=now, next_attempt_at=None)
        bucket = result.delivered
    elif claim.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        changes.update(status=D.FAILED, next_attempt_at=None)
        bucket = result.failed
    else:
        changes.update(next_attempt_at=max(at, now) + retry_delay(claim.attempts))
        bucket = result.retrying
    with transaction.atomic():
        updated = WebhookDelivery.objects.filter(pk=claim.pk, status=D.PENDING, attempts=claim.attempts).update(
            **changes
        )
    if updated:
        bucket.append(claim.pk)
    if not outcome.ok:
        logger.warning("webhooks: delivery %s attempt %s: %s", claim.pk, claim.attempts, outcome.error)


def webhook_deliveries_dispatch(*, limit: int | None = None, now: datetime | None = None) -> WebhookDispatchResult:
    """One pass of the worker: send every due delivery (at most `limit`), one at a time, each between two
    short transactions and none inside one. Failures are recorded and retried, never raised."""
    result = WebhookDispatchResult()
    handled = 0
    while limit is None or handled < limit:
        at = now or timezone.now()
        claim = _claim(at)
        if claim is None:
            break
        handled += 1
        _record(claim, _send(claim), result, at)
    return result


def webhook_pass(limit: int) -> int:
    """The worker loop's hook (`dispatch_notifications`): one pass, the number of deliveries handled."""
    return webhook_deliveries_dispatch(limit=limit).count
