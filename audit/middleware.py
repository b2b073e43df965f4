"""Makes the request being served the audit's actor source (user, IP, user agent), and
reports refused admin pages to the security log."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse

from audit.context import request_context


class AuditContextMiddleware:
    """Keeps the HttpRequest in a context variable for the duration of the request. The user
    is read only when a write happens, so a DRF token user (set on the HttpRequest after
    authentication) is attributed correctly.

    A signed-in user refused an admin page (403: owner-only identity and access pages, or a
    model their roles do not grant) is recorded as an `access_denied` security event; the API
    records its owner-only refusals in `IsOwner`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self._admin_prefix: str | None = None

    def _is_admin(self, request: HttpRequest) -> bool:
        if self._admin_prefix is None:
            try:
                self._admin_prefix = reverse("admin:index")
            except NoReverseMatch:
                self._admin_prefix = "\0"
        return request.path.startswith(self._admin_prefix)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with request_context(request):
            response = self.get_response(request)
            if response.status_code == 403 and self._is_admin(request):
                user = getattr(request, "user", None)
                if user is not None and user.is_authenticated:
                    from audit.services import security_event_access_denied

                    security_event_access_denied(request)
            return response
