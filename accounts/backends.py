"""Effective permissions = the union over the user's unexpired role assignments and all
their ancestor roles (docs/accounts.md). Computed once per user object (i.e. per request), then
served from memory: read along with the user by token authentication, else in one query."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import BaseBackend
from django.db import connection
from django.db.models.expressions import RawSQL
from django.http import HttpRequest

from accounts.models import OWNER_ROLE, User

_CACHE_ATTR = "_acountee_role_cache"


class RoleBackend(BaseBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        email: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        email = email or username
        if not email or password is None:
            return None
        try:
            user = User.objects.get_by_natural_key(email)
        except User.DoesNotExist:
            User().set_password(password)  # same work as a real check: no timing oracle
            return None
        if user.check_password(password) and user.is_active:
            return user
        return None

    def get_user(self, user_id: Any) -> User | None:
        user = User.objects.filter(pk=user_id, is_active=True).select_related("team").first()
        return user

    # --- permissions ---------------------------------------------------------------------
    def get_group_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not getattr(user_obj, "is_active", False) or obj is not None:
            return set()
        return self._cache(user_obj)[1]

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return self.get_group_permissions(user_obj, obj)

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        if not getattr(user_obj, "is_active", False):
            return False
        if self.user_is_owner(user_obj):
            return True
        return perm in self.get_all_permissions(user_obj, obj)

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        if not getattr(user_obj, "is_active", False):
            return False
        if self.user_is_owner(user_obj):
            return True
        return any(p.startswith(f"{app_label}.") for p in self.get_all_permissions(user_obj))

    @classmethod
    def user_is_owner(cls, user_obj: Any) -> bool:
        if not getattr(user_obj, "pk", None):
            return False
        return cls._cache(user_obj)[0]

    @staticmethod
    def forget(user_obj: Any) -> None:
        """Drop the per-object cache after the user's roles change."""
        if hasattr(user_obj, _CACHE_ATTR):
            delattr(user_obj, _CACHE_ATTR)

    @staticmethod
    def prime(user_obj: Any, permissions: list[str] | None) -> None:
        """Fill the per-object cache from `token_user_permissions` read along with the user (token
        authentication does), so the request pays no query of its own for permissions."""
        perms = set(permissions or ())
        setattr(user_obj, _CACHE_ATTR, (_OWNER_MARK in perms, perms - {_OWNER_MARK}))

    @staticmethod
    def _cache(user_obj: Any) -> tuple[bool, set[str]]:
        cached = getattr(user_obj, _CACHE_ATTR, None)
        if cached is None:
            with connection.cursor() as cursor:
                cursor.execute(_PERMISSIONS_OF_USER_SQL, [user_obj.pk, OWNER_ROLE])
                RoleBackend.prime(user_obj, [perm for (perm,) in cursor.fetchall()])
            cached = getattr(user_obj, _CACHE_ATTR)
        return cached


def token_user_permissions() -> RawSQL:
    """For `ApiToken.objects.annotate(…)`: the permissions of the token's user as one text array
    (read in the token's own query); `RoleBackend.prime` takes it."""
    return RawSQL(_PERMISSIONS_OF_TOKEN_USER_SQL, [OWNER_ROLE])  # noqa: S611 - fixed SQL, one parameter


_OWNER_MARK = ":owner"  # not a permission name: app labels have no colon

# The user's unexpired roles, all their ancestors, and the union of their permissions, in one
# statement (it runs on every authenticated request). UNION (not UNION ALL) stops the walk up
# the parents at a role already seen, so even a cycle written behind the services' back
# terminates. Both uses wrap it in `SELECT … FROM (…)`: the audit wrapper treats a statement
# starting with WITH as a possible write and would open a transaction for it.
_EFFECTIVE_PERMISSIONS_SQL = """
WITH RECURSIVE tree(id, parent_id, name) AS (
    SELECT r.id, r.parent_id, r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id
    WHERE ur.user_id = {user} AND (ur.expires_at IS NULL OR ur.expires_at > now())
  UNION
    SELECT r.id, r.parent_id, r.name FROM roles r JOIN tree ON r.id = tree.parent_id
)
SELECT ':owner' FROM tree WHERE tree.name = %s
UNION
SELECT ct.app_label || '.' || p.codename FROM tree
    JOIN role_permissions rp ON rp.role_id = tree.id
    JOIN auth_permission p ON p.id = rp.permission_id
    JOIN django_content_type ct ON ct.id = p.content_type_id
"""
_PERMISSIONS_OF_USER_SQL = "SELECT perm FROM ({}) AS effective(perm)".format(  # noqa: S608 - fixed SQL
    _EFFECTIVE_PERMISSIONS_SQL.format(user="%s")
)
_PERMISSIONS_OF_TOKEN_USER_SQL = "(SELECT array_agg(perm) FROM ({}) AS effective(perm))".format(  # noqa: S608
    _EFFECTIVE_PERMISSIONS_SQL.format(user="api_tokens.user_id")
)
