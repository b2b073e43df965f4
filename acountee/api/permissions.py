"""The project-wide API permission class: Django model permissions, fed by roles through
`accounts.backends.RoleBackend`, so the API and the admin grant exactly the same things."""

from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request


class SignedInPermission(permissions.BasePermission):
    """The base of every API permission class: a caller who is not signed in is refused (DRF
    answers 401 or 403 as before); a signed-in one is judged by `has_user_permission`."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        return self.has_user_permission(request, view, user)

    def has_user_permission(self, request: Request, view: Any, user: Any) -> bool:
        return True


class ModelPermissions(SignedInPermission, permissions.DjangoModelPermissions):
    """Like DRF's, but reading needs the model's `view` permission too."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_user_permission(self, request: Request, view: Any, user: Any) -> bool:
        # Views without a model queryset (e.g. /api/me/) declare their own permissions.
        if getattr(view, "queryset", None) is None and not hasattr(view, "get_queryset"):
            return True
        return permissions.DjangoModelPermissions.has_permission(self, request, view)


class IsAuthenticated(permissions.IsAuthenticated):
    pass
