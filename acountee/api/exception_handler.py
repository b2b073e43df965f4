"""Maps every exception that reaches DRF onto the contract's error shape (API.md):

{"error": {"code": "SNAKE_CASE_CODE", "message": "…", "details": …}}
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import DatabaseError
from django.http import Http404
from django.utils.encoding import force_str
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.response import Response

from acountee.db.errors import domain_error
from acountee.errors import AcounteeError, TooLarge

logger = logging.getLogger(__name__)

DRF_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.ValidationError: "VALIDATION_ERROR",
    exceptions.ParseError: "MALFORMED_REQUEST",
    exceptions.NotAuthenticated: "NOT_AUTHENTICATED",
    exceptions.AuthenticationFailed: "AUTHENTICATION_FAILED",
    exceptions.PermissionDenied: "PERMISSION_DENIED",
    exceptions.NotFound: "NOT_FOUND",
    exceptions.MethodNotAllowed: "METHOD_NOT_ALLOWED",
    exceptions.NotAcceptable: "NOT_ACCEPTABLE",
    exceptions.UnsupportedMediaType: "UNSUPPORTED_MEDIA_TYPE",
    exceptions.Throttled: "THROTTLED",
}


def error_body(code: str, message: Any, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": force_str(message), "details": details}}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        # Django's own answer is an HTML 400; a body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 here.
        exc = TooLarge(_("The request body is too large."), details={"max_size": settings.DATA_UPLOAD_MAX_MEMORY_SIZE})
    elif isinstance(exc, SuspiciousOperation):  # too many fields or files in a form, a bad multipart body…
        exc = exceptions.ParseError(str(exc) or None)
    if isinstance(exc, AcounteeError):
        # An error may carry response headers (e.g. Retry-After on a 429 sign-in lock-out).
        headers = getattr(exc, "headers", None)
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code, headers=headers)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, DatabaseError):
        # Down, busy, locked, deadlocked, disk full: acountee.db.errors decides; anything else is a bug.
        failure = domain_error(exc)
        if failure is None:
            return None
        logger.warning("database failure %s during %s: %s", failure.error.code, context.get("view"), exc)
        error = failure.error
        return Response(
            error_body(error.code, error.message, error.details),
            status=error.status_code,
            headers={"Retry-After": str(failure.retry_after)},
        )
    if not isinstance(exc, exceptions.APIException):
        return None

    code = _code_for(exc)
    message: Any
    details: Any
    if isinstance(exc, exceptions.ValidationError):
        message, details = _("The input is not valid."), exc.detail
    else:
        message, details = exc.detail, None
    headers = {}
    auth_header = getattr(exc, "auth_header", None)  # NotAuthenticated / AuthenticationFailed, when set by DRF
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    wait = getattr(exc, "wait", None)  # Throttled
    if wait:
        headers["Retry-After"] = str(int(wait))
    return Response(error_body(code, message, details), status=exc.status_code, headers=headers)


def _code_for(exc: exceptions.APIException) -> str:
    for klass in type(exc).__mro__:
        if klass in DRF_CODES:
            return DRF_CODES[klass]
    return str(getattr(exc, "default_code", "error")).upper()
