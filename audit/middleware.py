"""Makes the request being served the audit's actor source (user, IP, user agent)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from audit.context import request_context


class AuditContextMiddleware:
    """Keeps the HttpRequest in a context variable for the duration of the request. The user
    is read only when a write happens, so a DRF token user (set on the HttpRequest after
    authentication) is attributed correctly."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with request_context(request):
            return self.get_response(request)
