"""Effective permissions = the union over the user's unexpired role assignments and all
their ancestor roles (SPEC §6). Computed once per user object (i.e. per request) in one
query, then served from memory."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import BaseBackend
from django.db import connection
from django.http import HttpRequest

from accounts.models import OWNER_ROLE, User

_CACHE_ATTR = "_acountee_role_cache"


class RoleBackend(BaseBackend):
    def authenticate(
        self, request: HttpRequest | None, username: str | None = None,
        password: str | None = None, email: str | None = None, **kwargs: Any,
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
    def _cache(user_obj: Any) -> tuple[bool, set[str]]:
        cached = getattr(user_obj, _CACHE_ATTR, None)
        if cached is None:
            with connection.cursor() as cursor:
                cursor.execute(_EFFECTIVE_PERMISSIONS_SQL, {"user": user_obj.pk, "owner": OWNER_ROLE})
                rows = cursor.fetchall()
            is_owner = any(owner for owner, _app, _codename in rows)
            cached = (is_owner, {f"{app}.{codename}" for _owner, app, codename in rows if codename is not None})
            setattr(user_obj, _CACHE_ATTR, cached)
        return cached


# One round trip per request instead of three (roles, role tree, permissions): it runs on every
# authenticated request, so it weighs on every API call (bench/load.py). UNION (not UNION ALL)
# stops the walk up the parents at a role already seen, so even a cycle written behind the
# services' back terminates. The statement starts with SELECT, not WITH: the audit wrapper
# treats a leading WITH as a possible write and would wrap it in a transaction to set the actor
# (audit/connection.py).
_EFFECTIVE_PERMISSIONS_SQL = """
SELECT * FROM (
WITH RECURSIVE tree(id, parent_id, name) AS (
    SELECT r.id, r.parent_id, r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id
    WHERE ur.user_id = %(user)s AND (ur.expires_at IS NULL OR ur.expires_at > now())
  UNION
    SELECT r.id, r.parent_id, r.name FROM roles r JOIN tree ON r.id = tree.parent_id
)
SELECT bool_or(tree.name = %(owner)s), NULL, NULL FROM tree HAVING bool_or(tree.name = %(owner)s)
UNION ALL
SELECT DISTINCT false, ct.app_label, p.codename FROM tree
    JOIN role_permissions rp ON rp.role_id = tree.id
    JOIN auth_permission p ON p.id = rp.permission_id
    JOIN django_content_type ct ON ct.id = p.content_type_id
) AS effective
"""

