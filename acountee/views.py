from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults


def _error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "details": None}}, status=status)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """API clients get the contract's error shape; people get Django's page."""
    if request.path.startswith("/api/"):
        return _error("NOT_FOUND", _("Not found."), 404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """A bug, not bad input: answer without leaking internals."""
    if request.path.startswith("/api/"):
        return _error("INTERNAL_ERROR", _("An unexpected error occurred."), 500)
    return defaults.server_error(request)
