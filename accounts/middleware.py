"""The signed-in user's language wins over the browser's.

`django.middleware.locale.LocaleMiddleware` (before authentication) has already activated the
browser's Accept-Language, or LANGUAGE_CODE; this middleware, placed after
`AuthenticationMiddleware`, overrides it with `User.language` when the user chose one. API
clients signing in with a token are handled by `accounts.authentication.TokenAuthentication`,
which runs inside the view, after every middleware.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation


def user_language(user: object) -> str:
    """The user's chosen language when it is one we ship, else "" (follow the browser)."""
    code = getattr(user, "language", "") or ""
    return code if code in dict(settings.LANGUAGES) else ""


def activate_user_language(request: HttpRequest, user: object) -> None:
    code = user_language(user)
    if code:
        translation.activate(code)
        request.LANGUAGE_CODE = code


class UserLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Only a request with a session can carry a signed-in user; checking first avoids
        # turning every anonymous or token request into a session lookup.
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                activate_user_language(request, user)
        return self.get_response(request)
