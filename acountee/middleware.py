"""A database that is down or saturated answers 503, never a stack trace (SPEC §12)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        except (OperationalError, InterfaceError) as exc:
            # Raised outside a view (session or auth middleware reading the database).
            return self.process_exception(request, exc)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not isinstance(exc, OperationalError | InterfaceError):
            return None
        logger.warning("database unavailable for %s %s: %s", request.method, request.path, exc)
        response = JsonResponse(
            {
                "error": {
                    "code": "DATABASE_UNAVAILABLE",
                    "message": _("The database is unavailable or busy. Please try again shortly."),
                    "details": None,
                }
            },
            status=503,
        )
        response["Retry-After"] = "5"
        return response


class ContentSecurityPolicyMiddleware:
    """Sends `settings.CONTENT_SECURITY_POLICY` on every response that has none yet (Django 5.2
    has no CSP support of its own). The admin and Swagger UI (split view) load scripts from
    files only, so `script-src 'self'` holds for them (tests/security/test_headers.py)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        from django.conf import settings

        self.get_response = get_response
        self.policy = settings.CONTENT_SECURITY_POLICY

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        return response
