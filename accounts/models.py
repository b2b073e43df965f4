"""Identity and access: users (by e-mail), teams with capabilities, roles with inheritance.

Permissions come only from roles (`UserRole` → `Role` → parents → Django `Permission`);
`accounts.backends.RoleBackend` turns them into Django's permission checks, so the admin
and the API agree on what a user may do.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import (  # type: ignore[attr-defined]
    Permission,
    _user_get_permissions,  # PermissionsMixin's private helpers (the rules of Django's own User): not in the stubs
    _user_has_module_perms,
    _user_has_perm,
)
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.emails import EmailKey, email_key

OWNER_ROLE = "owner"


class TeamCapability(models.TextChoices):
    WORKBENCH = "workbench", _("Period-end workbench")
    REPORTS = "reports", _("Reports")


class Team(models.Model):
    """A group of users; its capabilities unlock product areas (e.g. the workbench)."""

    name = models.CharField(_("name"), max_length=150, unique=True)
    description = models.TextField(_("description"), blank=True)
    capabilities = ArrayField(
        models.CharField(max_length=50, choices=TeamCapability.choices),
        verbose_name=_("capabilities"),
        default=list,
        blank=True,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        db_table = "teams"
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class Role(models.Model):
    """A named bundle of permissions that may inherit a parent's. Built-in roles are
    created by a migration; `owner` grants everything and cannot be changed."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent role"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    permissions = models.ManyToManyField(
        Permission,
        verbose_name=_("permissions"),
        blank=True,
        db_table="role_permissions",
        related_name="roles",
    )
    is_builtin = models.BooleanField(_("built-in"), default=False, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        db_table = "roles"
        ordering = ["name"]
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        constraints = [
            models.CheckConstraint(condition=~Q(parent=models.F("id")), name="role_not_own_parent"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_owner_role(self) -> bool:
        return self.name == OWNER_ROLE


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> User:
        # Sign-in finds the account by the same key the lock-out counts by (accounts.emails).
        return self.with_email(username).get()

    def with_email(self, email: Any) -> models.QuerySet[User]:
        """The user(s) whose address is `email` under the one rule (accounts.emails); the
        `users_email_ci_unique` index answers it."""
        return self.alias(email_key=EmailKey("email")).filter(email_key=email_key(email))

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        from accounts.services import user_create

        return user_create(email=email, password=password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        """`createsuperuser` yields an owner: owners are the only superusers we know."""
        from accounts.services import user_create

        return user_create(email=email, password=password, roles=[OWNER_ROLE], **extra)


class User(AbstractBaseUser):
    """A person (or API client) identified by e-mail. Inactive users cannot sign in or act,
    but keep their history, so users are deactivated rather than deleted."""

    email = models.EmailField(_("email address"), max_length=254)
    name = models.CharField(_("name"), max_length=150, blank=True)
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    is_active = models.BooleanField(_("active"), default=True)
    # Blank follows the browser (Accept-Language), then LANGUAGE_CODE: accounts.middleware.
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        default="",
        help_text=_("Language of the back office and of your e-mails. Empty follows the browser."),
    )
    # An API-only principal made by an owner (accounts.services.service_account_create): no password, no
    # back office, acts only through scoped tokens (docs/security.md, "Service accounts").
    is_service_account = models.BooleanField(_("service account"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        db_table = "users"
        ordering = ["email"]
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            # Case-insensitive by the one rule of accounts.emails (ASCII letters; NFKC).
            models.UniqueConstraint(EmailKey("email"), name="users_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.name or self.email

    # --- Django's permission API, backed by roles only -------------------------------------
    @property
    def is_owner(self) -> bool:
        from accounts.backends import RoleBackend

        return self.is_active and RoleBackend.user_is_owner(self)

    @property
    def is_superuser(self) -> bool:
        return self.is_owner

    @property
    def is_staff(self) -> bool:
        # Every active person works in the back office; what they see there is up to roles. A service
        # account never does.
        return self.is_active and not self.is_service_account

    def get_user_permissions(self, obj: Any = None) -> set[str]:
        return set()

    def get_group_permissions(self, obj: Any = None) -> set[str]:
        permissions: set[str] = _user_get_permissions(self, obj, "group")
        return permissions

    def get_all_permissions(self, obj: Any = None) -> set[str]:
        permissions: set[str] = _user_get_permissions(self, obj, "all")
        return permissions

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return self.is_active and _user_has_perm(self, perm, obj)

    def has_perms(self, perm_list: Any, obj: Any = None) -> bool:
        return all(self.has_perm(perm, obj) for perm in perm_list)

    def has_module_perms(self, app_label: str) -> bool:
        return self.is_active and _user_has_module_perms(self, app_label)

    def has_capability(self, capability: str) -> bool:
        return self.is_owner or bool(self.team_id and self.team and capability in self.team.capabilities)


class UserRoleQuerySet(models.QuerySet["UserRole"]):
    def active(self, at: Any = None) -> UserRoleQuerySet:
        at = at or timezone.now()
        return self.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at))


class UserRole(models.Model):
    """A role assignment: who assigned it, and until when it grants anything."""

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="user_roles")
    role = models.ForeignKey(Role, verbose_name=_("role"), on_delete=models.PROTECT, related_name="assignments")
    assigned_by = models.ForeignKey(
        User,
        verbose_name=_("assigned by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    assigned_at = models.DateTimeField(_("assigned at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    objects = UserRoleQuerySet.as_manager()

    class Meta:
        db_table = "user_roles"
        ordering = ["assigned_at"]
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="user_roles_user_role_unique")]

    def __str__(self) -> str:
        return f"{self.user} → {self.role}"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()


class TokenScope(models.TextChoices):
    """What a service account's token may do (accounts.tokens.scope_allows); a person's token has none
    and may do what its user may."""

    READ = "read", _("read")
    IMPORT = "import", _("import invoices")
    EXPORT = "export", _("exports and reports")


class ApiToken(models.Model):
    """An API token. Only its SHA-256 is stored: a leaked database does not leak tokens."""

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("prefix"), max_length=8, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    scopes = ArrayField(
        models.CharField(max_length=16, choices=TokenScope.choices), verbose_name=_("scopes"), default=list, blank=True
    )
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    class Meta:
        db_table = "api_tokens"
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @staticmethod
    def generate_key() -> str:
        return secrets.token_hex(20)
