from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import get_urlconf, is_valid_path
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt


def _error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "details": None}}, status=status)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """API clients get the contract's error shape; people get Django's page."""
    if request.path.startswith("/api/"):
        return _error("NOT_FOUND", _("Not found."), 404)
    return defaults.page_not_found(request, exception)


@csrf_exempt  # a 404 whatever the method: no CSRF refusal first
def api_not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    """The last API route: a path the API does not have answers the contract's JSON 404 in every mode, every
    method — not Django's HTML debug page, not CommonMiddleware's slash-appending redirect (clients follow a
    301 as a GET: a write would be silently dropped; in development a POST there is a 500)."""
    message = _("The API has no such path.")
    if not request.path.endswith("/") and is_valid_path(f"{request.path}/", get_urlconf()):
        message = _("The API has no such path: did you mean %(path)s (with the trailing slash)?") % {
            "path": f"{request.path}/"
        }
    return _error("NOT_FOUND", message, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    """A bug, not bad input: answer without leaking internals."""
    if request.path.startswith("/api/"):
        return _error("INTERNAL_ERROR", _("An unexpected error occurred."), 500)
    return defaults.server_error(request)
