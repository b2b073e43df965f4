"""`Authorization: Token <key>` authentication against hashed API tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts.backends import RoleBackend, token_user_permissions
from accounts.middleware import activate_user_language
from accounts.models import ApiToken, User
from accounts.tokens import scope_allows
from acountee.errors import PermissionDeniedError

LAST_USED_RESOLUTION = timedelta(minutes=10)


def api_user(request: Request) -> User:
    """The signed-in user of an API request, typed as our ``User``: for mypy ``request.user`` may be an
    ``AnonymousUser``, but every API view first requires authentication (``ModelPermissions``, ``IsAuthenticated``,
    ``IsOwner``), so by the time a view acts the user is a real one. Only a cast: no query, no check."""
    return cast(User, request.user)


def admin_user(request: HttpRequest) -> User:
    """The same for admin views: the admin site lets only signed-in staff in (``AdminSite.admin_view``)."""
    return cast(User, request.user)


class TokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header."))
        try:
            key = header[1].decode("ascii")
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token header.")) from None
        token = (
            ApiToken.objects.select_related("user", "user__team")
            # The user's permissions in the same round trip: nearly every API call checks one.
            .annotate(user_permissions=token_user_permissions())
            .filter(key_hash=ApiToken.hash_key(key))
            .first()
        )
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
        now = timezone.now()
        if token.expires_at is not None and token.expires_at <= now:
            raise exceptions.AuthenticationFailed(_("This token has expired."))
        if not scope_allows(token.scopes, request.method or "", request.path):
            raise PermissionDeniedError(
                _("This token's scopes (%(scopes)s) do not allow this call.") % {"scopes": ", ".join(token.scopes)},
                code="TOKEN_SCOPE",
            )
        RoleBackend.prime(token.user, token.user_permissions)
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        # Token clients are known only here, after every middleware. A client that says which language it
        # reads (Accept-Language, already applied by LocaleMiddleware) keeps it: a script's parsing must not
        # depend on whose token it runs with (issue 20); otherwise the user's own setting applies.
        if not request.META.get("HTTP_ACCEPT_LANGUAGE"):
            activate_user_language(request._request, token.user)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
