"""Sign-in lock-out for the API token endpoint and the admin sign-in (docs/api-guard.md).

Failed sign-ins are counted per account (normalised e-mail) and per client IP in a fixed
window that starts at the first failure. Reaching the limit locks that account or IP for
the lock-out period: every attempt is refused before the password is even checked, so the
right password does not help. The counters live in PostgreSQL (`sign_in_throttles`), one
atomic upsert per scope, so every server process counts the same failures.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Max, Q
from django.utils import timezone

from accounts.emails import email_key
from accounts.requestguard.errors import TooManyAttempts
from accounts.requestguard.models import SignInThrottle, ThrottleScope
from accounts.security import record_security_event
from audit.context import client_ip

# One statement per scope: a new row, or the row's count in the current window (a window that
# has passed, or a lock-out that has ended, starts over at 1); the lock starts at the limit.
_RECORD_FAILURE = """
INSERT INTO sign_in_throttles AS t (scope, value, failures, window_started_at, locked_until)
VALUES (%(scope)s, %(value)s, 1, %(now)s, CASE WHEN %(limit)s <= 1 THEN %(until)s::timestamptz END)
ON CONFLICT (scope, value) DO UPDATE SET
    failures = CASE WHEN t.window_started_at <= %(window_start)s OR t.locked_until <= %(now)s
                    THEN 1 ELSE t.failures + 1 END,
    window_started_at = CASE WHEN t.window_started_at <= %(window_start)s OR t.locked_until <= %(now)s
                             THEN %(now)s ELSE t.window_started_at END,
    locked_until = CASE
        WHEN (CASE WHEN t.window_started_at <= %(window_start)s OR t.locked_until <= %(now)s
                   THEN 1 ELSE t.failures + 1 END) >= %(limit)s THEN %(until)s::timestamptz
        WHEN t.locked_until > %(now)s THEN t.locked_until
    END
RETURNING failures, locked_until
"""


def _account_key(email: Any) -> str:
    # The account's key is the sign-in lookup's own (accounts.emails): every spelling that reaches an
    # account ("ADMIN@X.TEST", the same in full-width letters) spends that account's budget. Cut to the column.
    return email_key(email)[:255]


def _scopes(email: str, ip: str) -> list[tuple[str, str, int]]:
    scopes = [(ThrottleScope.ACCOUNT.value, _account_key(email), settings.SIGN_IN_LOCKOUT_FAILURES)]
    if ip:
        scopes.append((ThrottleScope.IP.value, ip, settings.SIGN_IN_LOCKOUT_IP_FAILURES))
    return [scope for scope in scopes if scope[1]]


def _refusal(locked_until: datetime, now: datetime) -> TooManyAttempts:
    seconds = max(1, math.ceil((locked_until - now).total_seconds()))
    return TooManyAttempts(retry_after=seconds, details={"retry_after": seconds})


def sign_in_check(*, email: str, request: Any) -> None:
    """Raises TooManyAttempts (429) while the account or the client IP is locked out."""
    now = timezone.now()
    condition = Q()
    for scope, value, _limit in _scopes(email, client_ip(request)):
        condition |= Q(scope=scope, value=value)
    if not condition:
        return
    locked = SignInThrottle.objects.filter(condition, locked_until__gt=now)
    locked_until = locked.aggregate(until=Max("locked_until"))["until"]
    if locked_until is not None:
        raise _refusal(locked_until, now)


def sign_in_failure_record(*, email: str, request: Any, via: str) -> None:
    """Counts one failed sign-in for the account and the IP. The attempt that reaches a limit
    starts the lock-out, writes a `lockout` security event, and is itself refused (429)."""
    now = timezone.now()
    window_start = now - timedelta(seconds=settings.SIGN_IN_LOCKOUT_WINDOW_SECONDS)
    until = now + timedelta(seconds=settings.SIGN_IN_LOCKOUT_SECONDS)
    locked_until = None
    with connection.cursor() as cursor:
        for scope, value, limit in _scopes(email, client_ip(request)):
            params: dict[str, str | int] = {"scope": scope, "value": value, "limit": limit}
            cursor.execute(_RECORD_FAILURE, {**params, "now": now, "until": until, "window_start": window_start})
            failures, scope_locked_until = cursor.fetchone()
            if scope_locked_until is None:
                continue
            locked_until = max(locked_until or scope_locked_until, scope_locked_until)
            if failures == limit:  # exactly the attempt that locked it: one event per lock-out
                record_security_event(
                    "lockout",
                    request=request,
                    email=_account_key(email),
                    via=via,
                    scope=scope,
                    failures=failures,
                    locked_until=scope_locked_until.isoformat(),
                )
    if locked_until is not None:
        raise _refusal(locked_until, now)


def sign_in_success_record(*, email: str) -> None:
    """A successful sign-in resets the account's count. The IP's count is left to its window:
    otherwise one valid account would let an attacker keep guessing others from that IP."""
    SignInThrottle.objects.filter(scope=ThrottleScope.ACCOUNT, value=_account_key(email)).delete()


def sign_in_throttles_purge(*, now: datetime | None = None) -> int:
    """Deletes counters whose window and lock-out have both passed. Returns how many."""
    now = now or timezone.now()
    window_start = now - timedelta(seconds=settings.SIGN_IN_LOCKOUT_WINDOW_SECONDS)
    stale = SignInThrottle.objects.filter(window_started_at__lte=window_start).exclude(locked_until__gt=now)
    deleted, _by_model = stale.delete()
    return deleted


def sign_in_throttles_unlock(*, ids: list[int]) -> int:
    """An owner lifts lock-outs early (admin): the counters start over."""
    deleted, _by_model = SignInThrottle.objects.filter(pk__in=ids).delete()
    return deleted
