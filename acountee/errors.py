"""The one domain error hierarchy (docs/architecture.md, "Where logic lives").

Services raise these; the DRF exception handler and the admin helper turn them into the
contract's error shape and admin messages. Each carries a stable `code` (API.md) and the
HTTP status it maps to, so no view decides status codes on its own.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class AcounteeError(Exception):
    code = "ERROR"
    status_code = 400
    default_message = _("The request could not be completed.")

    def __init__(self, message: Any = None, *, code: str | None = None, details: Any = None):
        self.message = message if message is not None else self.default_message
        if code is not None:
            self.code = code
        self.details = details
        super().__init__(str(self.message))


class ValidationFailed(AcounteeError):
    code = "VALIDATION_ERROR"
    status_code = 400
    default_message = _("The input is not valid.")


class UnknownParameter(ValidationFailed):
    """A query parameter the operation does not declare in the OpenAPI document (acountee.api.declared)."""

    code = "UNKNOWN_PARAMETER"


class AuthenticationError(AcounteeError):
    code = "AUTHENTICATION_FAILED"
    status_code = 401
    default_message = _("Authentication failed.")


class PermissionDeniedError(AcounteeError):
    code = "PERMISSION_DENIED"
    status_code = 403
    default_message = _("You do not have permission to do this.")


class NotOwner(PermissionDeniedError):
    code = "NOT_OWNER"
    default_message = _("Only owners can do this.")


class NotFoundError(AcounteeError):
    code = "NOT_FOUND"
    status_code = 404
    default_message = _("Not found.")


class ConflictError(AcounteeError):
    code = "CONFLICT"
    status_code = 409
    default_message = _("The request conflicts with the current state.")


class InvalidState(ConflictError):
    code = "INVALID_STATE"
    default_message = _("This action is not allowed in the current state.")


class Duplicate(ConflictError):
    code = "DUPLICATE"
    default_message = _("This already exists.")


class ProtectedError(ConflictError):
    code = "PROTECTED"
    default_message = _("This record is protected.")


class TooLarge(AcounteeError):
    code = "TOO_LARGE"
    status_code = 413
    default_message = _("The upload is too large.")


class ServiceUnavailable(AcounteeError):
    code = "DATABASE_UNAVAILABLE"
    status_code = 503
    default_message = _("The database is unavailable or busy. Please try again shortly.")


# The response headers the rate limiter (accounts.requestguard.ratelimit, DRF's DEFAULT_THROTTLE_CLASSES) leaves on
# the request for the API bases to send (acountee.api.viewsets): RateLimit-Limit, -Remaining, -Reset, -Policy.
RATE_LIMIT_HEADERS_ATTRIBUTE = "_acountee_rate_limit_headers"


class RateLimited(AcounteeError):
    """Past the caller's API rate limit (accounts.requestguard.ratelimit, docs/api-guard.md)."""

    code = "RATE_LIMITED"
    status_code = 429
    default_message = _("Too many requests. Try again later.")

    def __init__(self, message: Any = None, *, retry_after: int, **kwargs: Any):
        retry_after = max(1, int(retry_after))
        if message is None:
            message = _("Too many requests: try again in %(seconds)d seconds.") % {"seconds": retry_after}
        super().__init__(message, details={"retry_after": retry_after}, **kwargs)
        self.retry_after = retry_after
        # acountee.api.exception_handler sends these with the error body.
        self.headers = {"Retry-After": str(retry_after)}
