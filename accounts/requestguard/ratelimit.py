"""API rate limits (docs/api-guard.md, "Rate limits"; issue 20): a fixed window per caller, counted in PostgreSQL so
that every app server and process shares the counters, with one statement per request.

The caller is its API token (`token:<id>`: each token its own budget, a service account's included), else the
signed-in session's user (`user:<id>`), else the client IP (`ip:<address>`, anonymous callers: the token
endpoint). Limits come from settings (API_RATE_LIMIT_*, requests per API_RATE_LIMIT_WINDOW_SECONDS; 0 = no limit).

Every answer of a limited caller carries the quota in the fields of draft-ietf-httpapi-ratelimit-headers-06:
`RateLimit-Limit` (requests per window), `RateLimit-Remaining`, `RateLimit-Reset` (seconds until the window
ends) and `RateLimit-Policy` (`<limit>;w=<window seconds>`). Past the limit the answer is 429 RATE_LIMITED with
`Retry-After` (the same seconds as RateLimit-Reset). Refused requests count too: hammering does not
shorten the wait, and the next window starts afresh.

The hook is DRF's throttling (`throttle_classes`, `BaseThrottle.allow_request` / `wait`): the API bases
(acountee.api.viewsets) check it right after authentication, before permissions, answer 429 RATE_LIMITED
(acountee.errors.RateLimited) and add the headers to every answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from rest_framework import throttling
from rest_framework.request import Request

from acountee.errors import RATE_LIMIT_HEADERS_ATTRIBUTE
from audit.context import client_ip

HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy")

# One statement: start or continue the caller's window (on PostgreSQL's clock, the same for every server), count
# the request, return the count and the seconds left in the window.
HIT_SQL = """
INSERT INTO api_rate_counters AS c (key, window_start, hits)
VALUES (%(key)s, to_timestamp(floor(extract(epoch FROM clock_timestamp()) / %(window)s) * %(window)s), 1)
ON CONFLICT (key) DO UPDATE
SET hits = CASE WHEN c.window_start = EXCLUDED.window_start THEN c.hits + 1 ELSE 1 END,
    window_start = EXCLUDED.window_start
RETURNING c.hits, greatest(1, ceil(extract(epoch FROM c.window_start) + %(window)s
                                   - extract(epoch FROM clock_timestamp())))::integer
"""


@dataclass(frozen=True)
class Quota:
    limit: int
    remaining: int
    reset: int
    window: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
            "RateLimit-Policy": f"{self.limit};w={self.window}",
        }


def caller(request: Request) -> tuple[str, int] | None:
    """The counter's key and the caller's limit; None when the caller is not limited."""
    auth = getattr(request, "auth", None)
    user = getattr(request, "user", None)
    if auth is not None and getattr(auth, "pk", None) is not None:
        return f"token:{auth.pk}", settings.API_RATE_LIMIT_TOKEN
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}", settings.API_RATE_LIMIT_USER
    ip = client_ip(request)
    return (f"ip:{ip}", settings.API_RATE_LIMIT_ANONYMOUS) if ip else None


def hit(key: str, window: int) -> tuple[int, int]:
    """Count one request of `key`: (requests in the current window, seconds until it ends)."""
    with connection.cursor() as cursor:
        cursor.execute(HIT_SQL, {"key": key, "window": window})
        hits, reset = cursor.fetchone()
    return int(hits), int(reset)


def api_rate_counters_purge(*, now: datetime | None = None) -> int:
    """Delete counters whose window ended (purge_request_guard): a caller's next request starts a new one."""
    from django.utils import timezone

    from accounts.requestguard.models import ApiRateCounter

    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.API_RATE_LIMIT_WINDOW_SECONDS)
    deleted, _ = ApiRateCounter.objects.filter(window_start__lt=cutoff).delete()
    return deleted


class ApiRateThrottle(throttling.BaseThrottle):
    def allow_request(self, request: Request, view: Any) -> bool:
        identity = caller(request)
        if identity is None or identity[1] <= 0:
            return True
        key, limit = identity
        window = settings.API_RATE_LIMIT_WINDOW_SECONDS
        hits, reset = hit(key, window)
        quota = Quota(limit=limit, remaining=max(0, limit - hits), reset=reset, window=window)
        setattr(request, RATE_LIMIT_HEADERS_ATTRIBUTE, quota.headers())
        self.reset = reset
        return hits <= limit

    def wait(self) -> float | None:
        return getattr(self, "reset", None)
