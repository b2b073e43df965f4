"""Writes for users, teams, roles and role assignments (docs/accounts.md).

Owner protections live here, so the admin, the API and management commands all obey
them: the `owner` role cannot be edited or deleted; the last active owner cannot lose the
role or be deactivated; a team with members or a role with assignments cannot be deleted.
Changes to who is an owner serialise on the owner role's row lock, so two owners removing
each other at once cannot leave the company with none.
"""

from __future__ import annotations

import secrets
import unicodedata
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.backends import RoleBackend
from accounts.models import OWNER_ROLE, ApiToken, Role, Team, TokenScope, User, UserRole
from accounts.security import record_security_event
from acountee.errors import Duplicate, NotFoundError, NotOwner, ProtectedError, ValidationFailed

_UNSET: Any = object()


# --- users -------------------------------------------------------------------------------
def user_create(
    *,
    email: str,
    password: str | None = None,
    name: str = "",
    team: Team | None = None,
    is_active: bool = True,
    roles: list[str] | tuple[str, ...] = (),
    actor: User | None = None,
    language: str = "",
) -> User:
    _check_language(language)
    email = _clean_email(email)
    if not email:
        raise ValidationFailed(_("An e-mail address is required."), details={"email": [_("This field is required.")]})
    with transaction.atomic():
        if User.objects.with_email(email).exists():
            raise Duplicate(_("A user with this e-mail address already exists."), code="DUPLICATE_EMAIL")
        user = User(email=email, name=name, team=team, is_active=is_active, language=language)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            raise Duplicate(_("A user with this e-mail address already exists."), code="DUPLICATE_EMAIL") from None
        for role_name in roles:
            role_assign(user=user, role=Role.objects.get(name=role_name), actor=actor)
        _teams_touch([team.pk] if team is not None else [])  # its member_count
    return user


# --- `updated_at` where a list shows something another table holds (docs/API.md, "Syncing a list") ---------
def _users_touch(ids: list[int]) -> None:
    """A user's roles (the users list) or a service account's tokens (the service-accounts list) changed."""
    if ids:
        User.objects.filter(pk__in=ids).update(updated_at=timezone.now())


def _teams_touch(ids: list[int | None]) -> None:
    """A team's members changed (its member_count)."""
    present = sorted({pk for pk in ids if pk is not None})
    if present:
        Team.objects.filter(pk__in=present).update(updated_at=timezone.now())


def user_update(
    *,
    user: User,
    actor: User | None = None,
    email: str = _UNSET,
    name: str = _UNSET,
    team: Team | None = _UNSET,
    is_active: bool = _UNSET,
    password: str = _UNSET,
    language: str = _UNSET,
) -> User:
    """The one path for changing a user (API, admin pages, the own-password page). A new password
    or a deactivation also revokes all the user's API tokens in the same transaction: a token
    obtained with the old password (or by someone who has since left) must not outlive it."""
    if language is not _UNSET:
        _check_language(language)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        team_before = user.team_id
        if email is not _UNSET:
            email = _clean_email(email)
            if User.objects.with_email(email).exclude(pk=user.pk).exists():
                raise Duplicate(_("A user with this e-mail address already exists."), code="DUPLICATE_EMAIL")
            user.email = email
        if name is not _UNSET:
            user.name = name
        if team is not _UNSET:
            user.team = team
        if language is not _UNSET:
            user.language = language
        if password is not _UNSET:
            user.set_password(password)
        deactivated = False
        if is_active is not _UNSET and is_active != user.is_active:
            if not is_active:
                _ensure_not_last_owner(user, _("The last owner cannot be deactivated."))
                deactivated = True
            user.is_active = is_active
        user.save()
        if user.team_id != team_before:
            _teams_touch([team_before, user.team_id])
        if password is not _UNSET:
            # The row's audit entry never shows it (users.password is excluded): say that it happened.
            record_security_event("password_set", user=actor, target_user=user.pk)
        if password is not _UNSET or deactivated:
            _api_tokens_revoke_all(
                user=user, actor=actor, reason="password_set" if password is not _UNSET else "deactivated"
            )
    return user


def _clean_email(email: str | None) -> str:
    """NFKC, stripped, the domain lower-cased. The part before the @ must be ASCII: Django's validator lets
    a few look-alike letters through (the dotless "\u0131" matches [A-Z] when case is ignored), and
    accounts.emails folds only ASCII case, so "adm\u0131n@…" would be a second account beside "admin@…"."""
    email = User.objects.normalize_email(unicodedata.normalize("NFKC", email or "").strip())
    if not email.rpartition("@")[0].isascii():
        message = _("Letters before the @ of an e-mail address must be plain ASCII (a-z, 0-9).")
        raise ValidationFailed(message, details={"email": [message]})
    return email


def _check_language(language: str) -> None:
    """ "" (follow the browser) or one of settings.LANGUAGES."""
    if language not in {"", *dict(settings.LANGUAGES)}:
        raise ValidationFailed(_("Unknown language."), details={"language": [_("Unknown language.")]})


def user_deactivate(*, user: User, actor: User | None = None) -> User:
    return user_update(user=user, actor=actor, is_active=False)


def _ensure_not_last_owner(user: User, message: str) -> None:
    """Call inside a transaction. Locks the owner role row to serialise owner changes."""
    owner_role = Role.objects.select_for_update().get(name=OWNER_ROLE)
    holds_owner = UserRole.objects.active().filter(user=user, role=owner_role).exists()
    if not holds_owner:
        return
    others = UserRole.objects.active().filter(role=owner_role, user__is_active=True).exclude(user=user).exists()
    if not others:
        raise ProtectedError(message, code="LAST_OWNER")


# --- teams -------------------------------------------------------------------------------
def team_create(
    *, name: str, description: str = "", capabilities: list[str] | None = None, actor: User | None = None
) -> Team:
    with transaction.atomic():
        if Team.objects.filter(name__iexact=name).exists():
            raise Duplicate(_("A team with this name already exists."))
        return Team.objects.create(name=name, description=description, capabilities=sorted(set(capabilities or [])))


def team_update(*, team: Team, actor: User | None = None, **fields: Any) -> Team:
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=team.pk)
        if "name" in fields and Team.objects.filter(name__iexact=fields["name"]).exclude(pk=team.pk).exists():
            raise Duplicate(_("A team with this name already exists."))
        if "capabilities" in fields:
            fields["capabilities"] = sorted(set(fields["capabilities"]))
        for key, value in fields.items():
            setattr(team, key, value)
        team.save()
    return team


def team_delete(*, team: Team, actor: User | None = None) -> None:
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=team.pk)
        if team.members.exists():
            raise ProtectedError(_("A team with members cannot be deleted."), code="TEAM_HAS_MEMBERS")
        team.delete()


# --- roles -------------------------------------------------------------------------------
def permissions_from_names(names: list[str]) -> list[Permission]:
    """`app_label.codename` strings → Permission rows; unknown names are a validation error."""
    found: list[Permission] = []
    unknown: list[str] = []
    for name in names:
        app_label, _sep, codename = name.partition(".")
        perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
        if perm is None:
            unknown.append(name)
        else:
            found.append(perm)
    if unknown:
        raise ValidationFailed(
            _("Unknown permissions: %(names)s") % {"names": ", ".join(unknown)},
            details={"permissions": unknown},
        )
    return found


def _check_parent(role: Role | None, parent: Role | None) -> None:
    if parent is None:
        return
    if parent.name == OWNER_ROLE:
        raise ValidationFailed(_("No role can inherit from the owner role."), code="INVALID_PARENT")
    seen: set[int] = set()
    current: Role | None = parent
    while current is not None:
        if role is not None and current.pk == role.pk:
            raise ValidationFailed(_("A role cannot inherit from itself."), code="ROLE_CYCLE")
        if current.pk in seen:
            break
        seen.add(current.pk)
        current = current.parent


def role_create(
    *,
    name: str,
    description: str = "",
    parent: Role | None = None,
    permissions: list[str] | None = None,
    actor: User | None = None,
) -> Role:
    with transaction.atomic():
        if Role.objects.filter(name__iexact=name).exists():
            raise Duplicate(_("A role with this name already exists."))
        _check_parent(None, parent)
        role = Role.objects.create(name=name, description=description, parent=parent)
        if permissions:
            role.permissions.set(permissions_from_names(permissions))
        record_security_event("role_created", user=actor, role=role.name, permissions=permissions or [])
    return role


def role_update(
    *,
    role: Role,
    actor: User | None = None,
    name: str = _UNSET,
    description: str = _UNSET,
    parent: Role | None = _UNSET,
    permissions: list[str] = _UNSET,
) -> Role:
    with transaction.atomic():
        role = Role.objects.select_for_update().get(pk=role.pk)
        if role.is_owner_role:
            raise ProtectedError(_("The owner role cannot be changed."), code="OWNER_ROLE_PROTECTED")
        if name is not _UNSET and name != role.name:
            if role.is_builtin:
                raise ProtectedError(_("Built-in roles cannot be renamed."), code="BUILTIN_ROLE_PROTECTED")
            if Role.objects.filter(name__iexact=name).exclude(pk=role.pk).exists():
                raise Duplicate(_("A role with this name already exists."))
            role.name = name
        if description is not _UNSET:
            role.description = description
        if parent is not _UNSET:
            _check_parent(role, parent)
            role.parent = parent
        role.save()
        if permissions is not _UNSET:
            role.permissions.set(permissions_from_names(permissions))
            record_security_event("role_permissions_changed", user=actor, role=role.name, permissions=permissions)
    return role


def role_delete(*, role: Role, actor: User | None = None) -> None:
    with transaction.atomic():
        role = Role.objects.select_for_update().get(pk=role.pk)
        if role.is_owner_role or role.is_builtin:
            raise ProtectedError(_("Built-in roles cannot be deleted."), code="BUILTIN_ROLE_PROTECTED")
        if role.assignments.exists():
            raise ProtectedError(_("A role that is assigned to users cannot be deleted."), code="ROLE_IN_USE")
        if role.children.exists():
            raise ProtectedError(_("A role that other roles inherit from cannot be deleted."), code="ROLE_IN_USE")
        role.delete()
        record_security_event("role_deleted", user=actor, role=role.name)


def role_assign(*, user: User, role: Role, actor: User | None = None, expires_at: datetime | None = None) -> UserRole:
    """Grant `role` to `user` (or change the expiry of an existing grant)."""
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed(
            _("The expiry must be in the future."), details={"expires_at": [_("Must be in the future.")]}
        )
    with transaction.atomic():
        if role.is_owner_role:
            Role.objects.select_for_update().get(pk=role.pk)
        assignment, created = UserRole.objects.select_for_update().get_or_create(
            user=user,
            role=role,
            defaults={"assigned_by": actor, "expires_at": expires_at},
        )
        if not created:
            if role.is_owner_role and expires_at is not None:
                _ensure_not_last_owner(user, _("The last owner's role cannot be given an expiry."))
            assignment.expires_at = expires_at
            assignment.assigned_by = actor
            assignment.assigned_at = timezone.now()
            assignment.save()
        _users_touch([user.pk])
        record_security_event(
            "role_assigned",
            user=actor,
            target_user=user.pk,
            role=role.name,
            expires_at=expires_at.isoformat() if expires_at else None,
        )
    RoleBackend.forget(user)
    return assignment


def role_revoke(*, user: User, role: Role, actor: User | None = None) -> None:
    with transaction.atomic():
        if role.is_owner_role:
            _ensure_not_last_owner(user, _("The last owner cannot lose the owner role."))
        deleted, _detail = UserRole.objects.filter(user=user, role=role).delete()
        if not deleted:
            raise NotFoundError(_("This user does not hold this role."))
        _users_touch([user.pk])
        record_security_event("role_revoked", user=actor, target_user=user.pk, role=role.name)
    RoleBackend.forget(user)


# --- API tokens ----------------------------------------------------------------------------
def api_token_create(
    *, user: User, request: Any = None, scopes: list[str] | None = None, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Returns the token row and the clear key, which exists only in this response."""
    key = ApiToken.generate_key()
    token = ApiToken.objects.create(
        user=user, key_hash=ApiToken.hash_key(key), prefix=key[:8], scopes=scopes or [], expires_at=expires_at
    )
    record_security_event("token_created", request=request, user=user, token=token.prefix)
    if user.is_service_account:  # the service-accounts list shows its tokens
        _users_touch([user.pk])
    return token, key


SERVICE_ACCOUNT_DOMAIN = "service.acountee.invalid"  # never a mailbox: `.invalid` is reserved (RFC 2606)


def service_account_create(
    *,
    name: str,
    scopes: list[str],
    actor: User | None,
    expires_at: datetime | None = None,
    roles: list[str] | tuple[str, ...] = (),
    request: Any = None,
) -> tuple[User, str]:
    """An API-only principal for an integration (docs/security.md, "Service accounts"): no password (it never
    signs in, so it never locks a person out), no back office, one token with at least one scope and an
    optional expiry. Its permissions come from `roles`, as a person's; the scopes narrow them. Owners only.
    Returns the account and the token's clear key (shown once)."""
    if actor is None or not actor.is_owner:
        raise NotOwner(_("Only owners can create service accounts."))
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(details={"name": [_("This field is required.")]})
    wanted = list(dict.fromkeys(scopes or []))
    if not wanted or set(wanted) - set(TokenScope.values):
        raise ValidationFailed(
            details={"scopes": [_("Choose one or more of: %(scopes)s.") % {"scopes": ", ".join(TokenScope.values)}]}
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed(details={"expires_at": [_("The expiry must be in the future.")]})
    if OWNER_ROLE in roles:
        raise ValidationFailed(details={"roles": [_("A service account cannot be an owner.")]})
    with transaction.atomic():
        email = f"{secrets.token_hex(6)}@{SERVICE_ACCOUNT_DOMAIN}"
        user = user_create(email=email, name=name[:150], roles=roles, actor=actor)
        User.objects.filter(pk=user.pk).update(is_service_account=True)
        user.is_service_account = True
        _token, key = api_token_create(user=user, request=request, scopes=wanted, expires_at=expires_at)
    return user, key


def api_token_revoke(*, token: ApiToken, request: Any = None) -> None:
    token.delete()
    if token.user.is_service_account:
        _users_touch([token.user_id])
    record_security_event("token_revoked", request=request, user=token.user, token=token.prefix)


def _api_tokens_revoke_all(*, user: User, actor: User | None, reason: str) -> int:
    """Inside user_update's transaction: deletes every token of `user` and, when there were any,
    records how many (a `token_revoked` security event and a `revoke_api_tokens` audit entry on
    the user; never a key, a hash or a prefix). Returns the count."""
    count, _by_model = ApiToken.objects.filter(user=user).delete()
    if count:
        record_security_event("token_revoked", user=actor, target_user=user.pk, count=count, reason=reason)
    return count
