"""Effective permissions = union over unexpired roles and their parents (docs/accounts.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from accounts import services
from accounts.backends import RoleBackend
from accounts.models import Role, User, UserRole
from tests.accounts.factories import RoleFactory, UserFactory

pytestmark = pytest.mark.django_db


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


def grant(role: Role, *perms: str) -> None:
    for perm in perms:
        app_label, codename = perm.split(".")
        role.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def test_a_user_without_roles_has_no_permission(outsider):
    assert fresh(outsider).get_all_permissions() == set()
    assert not fresh(outsider).has_perm("accounts.view_user")
    assert not fresh(outsider).is_owner


def test_permissions_are_inherited_from_parent_roles():
    grandparent = RoleFactory()
    parent = RoleFactory(parent=grandparent)
    child = RoleFactory(parent=parent)
    grant(grandparent, "accounts.view_team")
    grant(parent, "accounts.view_role")
    grant(child, "accounts.change_team")
    user = UserFactory()
    UserRole.objects.create(user=user, role=child)

    assert fresh(user).get_all_permissions() == {"accounts.view_team", "accounts.view_role", "accounts.change_team"}
    assert fresh(user).has_perm("accounts.view_team")


def test_permissions_are_the_union_of_all_active_roles():
    first, second = RoleFactory(), RoleFactory()
    grant(first, "accounts.view_team")
    grant(second, "accounts.view_role")
    user = UserFactory()
    UserRole.objects.create(user=user, role=first)
    UserRole.objects.create(user=user, role=second)
    assert fresh(user).get_all_permissions() == {"accounts.view_team", "accounts.view_role"}


def test_an_expired_assignment_grants_nothing():
    role = RoleFactory()
    grant(role, "accounts.view_team")
    user = UserFactory()
    assignment = UserRole.objects.create(user=user, role=role, expires_at=timezone.now() + timedelta(hours=1))
    assert fresh(user).has_perm("accounts.view_team")

    UserRole.objects.filter(pk=assignment.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert not fresh(user).has_perm("accounts.view_team")
    assert fresh(user).get_all_permissions() == set()


def test_an_expired_owner_assignment_is_not_an_owner(owner):
    UserRole.objects.filter(user=owner).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert not fresh(owner).is_owner
    assert not fresh(owner).has_perm("accounts.view_user")


def test_owners_hold_every_permission(owner):
    assert fresh(owner).is_owner
    assert fresh(owner).has_perm("accounts.delete_role")
    assert fresh(owner).has_module_perms("accounts")


def test_inactive_users_hold_nothing(owner):
    UserFactory(roles=["owner"])  # so the first may be deactivated
    role = RoleFactory()
    grant(role, "accounts.view_team")
    UserRole.objects.create(user=owner, role=role)
    User.objects.filter(pk=owner.pk).update(is_active=False)
    user = fresh(owner)
    assert not user.has_perm("accounts.view_team")
    assert not user.has_module_perms("accounts")


def test_role_cycles_are_refused_and_never_loop():
    a = RoleFactory()
    b = RoleFactory(parent=a)
    with pytest.raises(services.ValidationFailed) as exc:
        services.role_update(role=a, parent=b)
    assert exc.value.code == "ROLE_CYCLE"
    # Even a cycle written behind the services' back cannot hang a permission check.
    Role.objects.filter(pk=a.pk).update(parent=b)
    user = UserFactory()
    UserRole.objects.create(user=user, role=a)
    assert fresh(user).get_all_permissions() == set()


def test_permission_checks_are_cached_per_user_object(django_assert_num_queries, finance):
    user = fresh(finance)
    with django_assert_num_queries(1):  # roles, their ancestors and permissions in one query
        user.has_perm("invoices.view_invoice")
    with django_assert_num_queries(0):
        user.has_perm("accounts.view_user")
        user.get_all_permissions()
    RoleBackend.forget(user)
