"""A database that is down, saturated or refusing a write answers a clear error, never a stack
trace (docs/operations.md); which error is decided by `acountee.db.errors.domain_error` alone."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import format_html

from acountee.db.errors import DatabaseFailure, domain_error

logger = logging.getLogger(__name__)

_FAILURE_ATTR = "_acountee_database_failure"


def _remember_database_failure(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """A middleware below ours that reads the database (session, auth, the user's language)
    raises outside any view: Django turns that into a 500 before we see it, but tells this
    signal first. Remember the failure so `DatabaseUnavailableMiddleware` can answer instead."""
    exc = sys.exc_info()[1]
    failure = domain_error(exc) if request is not None and exc is not None else None
    if failure is not None:
        setattr(request, _FAILURE_ATTR, failure)


got_request_exception.connect(_remember_database_failure, dispatch_uid="acountee.database_failure")


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        failure = getattr(request, _FAILURE_ATTR, None)
        if failure is not None and response.status_code >= 500:
            return database_failure_response(request, failure)
        return response

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        failure = domain_error(exc)
        if failure is None:
            return None
        return database_failure_response(request, failure)


def database_failure_response(request: HttpRequest, failure: DatabaseFailure) -> HttpResponse:
    """JSON in the API's error shape for API clients, a short page for browsers (the admin)."""
    error = failure.error
    logger.warning("database failure %s for %s %s", error.code, request.method, request.path)
    response: HttpResponse
    if request.path.startswith("/api/") or "html" not in request.headers.get("Accept", ""):
        body = {"error": {"code": error.code, "message": str(error.message), "details": error.details}}
        response = JsonResponse(body, status=error.status_code)
    else:
        response = HttpResponse(
            format_html("<!doctype html><title>{0}</title><h1>{0}</h1><p>{1}</p>", error.code, str(error.message)),
            status=error.status_code,
        )
    response["Retry-After"] = str(failure.retry_after)
    return response


class ContentSecurityPolicyMiddleware:
    """Sends `settings.CONTENT_SECURITY_POLICY` on every response that has none yet (Django 5.2
    has no CSP support of its own). The admin and Swagger UI (split view) load scripts from
    files only, so `script-src 'self'` holds for them (tests/security/test_headers.py)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.conf import settings

        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY  # read per request: settings overrides apply at once
        if policy and "Content-Security-Policy" not in response:
            if response.get("Content-Type", "").startswith("application/pdf"):
                # A PDF opened in the browser: Chromium's viewer is a plugin that object-src
                # 'none' would block; keep only the framing rule.
                response["Content-Security-Policy"] = "frame-ancestors 'none'"
            else:
                response["Content-Security-Policy"] = policy
        return response
