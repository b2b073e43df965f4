"""`Idempotency-Key` for API writes, as middleware: it must see the request before the view
and its upload handlers read the body, and wrap the whole response (docs/api-guard.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponseBase, JsonResponse
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from accounts.authentication import TokenAuthentication
from accounts.requestguard import idempotency
from accounts.requestguard.errors import IdempotencyKeyInProgress, IdempotencyKeyReused, InvalidIdempotencyKey
from acountee.api.exception_handler import error_body
from audit.context import acting_as

HEADER = "HTTP_IDEMPOTENCY_KEY"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
API_PREFIX = "/api/"
# The token endpoint answers with a secret: it is never stored (and it needs no key: a
# second token is harmless and revocable).
EXEMPT_PATHS = {"/api/auth/token/"}


def applies_to(method: str, path: str) -> bool:
    return method.upper() in WRITE_METHODS and path.startswith(API_PREFIX) and path not in EXEMPT_PATHS


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        raw_key = request.META.get(HEADER)
        if raw_key is None or not applies_to(request.method or "", request.path_info):
            return self.get_response(request)
        try:
            key = idempotency.validate_key(raw_key)
        except InvalidIdempotencyKey as exc:
            return _error(exc)
        user = _api_user(request)
        if user is None:
            return self.get_response(request)  # the view answers 401; nothing to scope the key by
        fingerprint = idempotency.request_fingerprint(request)
        try:
            if fingerprint is None:
                return self.get_response(request)  # too large or cut off: the view refuses it
            return self._guarded(request, user, key, fingerprint)
        finally:
            idempotency.release_body(request)

    def _guarded(self, request: HttpRequest, user: Any, key: str, fingerprint: str) -> HttpResponseBase:
        try:
            # The user the view will act as, so the audit actor set for this write carries over to the view's.
            with acting_as(user):
                outcome = idempotency.idempotency_claim(
                    user=user, key=key, fingerprint=fingerprint, method=request.method or "", path=request.path_info
                )
        except (IdempotencyKeyReused, IdempotencyKeyInProgress) as exc:
            return _error(exc)
        if not isinstance(outcome, idempotency.Claim):
            return idempotency.replay(outcome)
        response = None
        try:
            response = self.get_response(request)
        finally:
            idempotency.idempotency_finish(claim=outcome, response=response)
        return response


def _api_user(request: HttpRequest) -> Any:
    """The user the API view will see, without the view's side effects: token first (as
    DRF's authentication order), then DRF's test-client forced user, then the session user.
    The session's CSRF check stays with the view: it would read the body here."""
    try:
        authenticated = TokenAuthentication().authenticate(Request(request))
    except AuthenticationFailed:
        return None
    if authenticated is not None:
        return authenticated[0]
    user = getattr(request, "_force_auth_user", None) or getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _error(exc: Any) -> JsonResponse:
    response = JsonResponse(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
    if isinstance(exc, IdempotencyKeyInProgress):
        response["Retry-After"] = "1"
    return response
