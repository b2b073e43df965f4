"""Effective permissions = the union over the user's unexpired role assignments and all
their ancestor roles (SPEC §6). Computed once per user object (i.e. per request) in three
small queries, then served from memory."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.models import Permission
from django.http import HttpRequest

from accounts.models import OWNER_ROLE, Role, User, UserRole

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
            role_ids, is_owner = effective_roles(user_obj.pk)
            perms = Permission.objects.filter(roles__in=role_ids).distinct() if role_ids else Permission.objects.none()
            names = {f"{app}.{codename}" for app, codename in perms.values_list("content_type__app_label", "codename")}
            cached = (is_owner, names)
            setattr(user_obj, _CACHE_ATTR, cached)
        return cached


def effective_roles(user_id: int) -> tuple[set[int], bool]:
    """The ids of the user's active roles and all their ancestors (cycle-safe), and whether
    one of them is the owner role. The role table is small: read it whole, walk in memory."""
    direct = set(UserRole.objects.active().filter(user_id=user_id).values_list("role_id", flat=True))
    if not direct:
        return set(), False
    roles = {pk: (parent_id, name) for pk, parent_id, name in Role.objects.values_list("id", "parent_id", "name")}
    result: set[int] = set()
    for role_id in direct:
        current: int | None = role_id
        while current is not None and current not in result and current in roles:
            result.add(current)
            current = roles[current][0]
    return result, any(roles[pk][1] == OWNER_ROLE for pk in result)
