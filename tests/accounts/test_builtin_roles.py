"""Built-in roles: the `admin` role reads the business records but not the audit (issue #9: only owners see
users, roles and audit). Migration 0005 takes the grant back on existing databases, and gives it back on reverse."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission

from accounts.models import Role
from accounts.roles import BUILTIN_ROLE_PERMISSIONS, sync_builtin_role_permissions

pytestmark = pytest.mark.django_db

migration = importlib.import_module("accounts.migrations.0005_admin_role_without_audit")


def admin_reads_audit() -> bool:
    return Role.objects.get(name="admin").permissions.filter(codename="view_auditentry").exists()


def test_no_builtin_role_but_owner_reads_the_audit():
    assert all("audit.view_auditentry" not in perms for perms in BUILTIN_ROLE_PERMISSIONS.values())
    sync_builtin_role_permissions()
    assert not admin_reads_audit()


def test_the_migration_takes_the_grant_back_and_the_reverse_gives_it_back():
    role = Role.objects.get(name="admin")
    role.permissions.add(Permission.objects.get(content_type__app_label="audit", codename="view_auditentry"))
    Role.objects.filter(pk=role.pk).update(description=migration.OLD_DESCRIPTION)
    kept = set(role.permissions.exclude(codename="view_auditentry").values_list("pk", flat=True))

    migration.remove_audit_from_admin(apps, None)
    role.refresh_from_db()
    assert not admin_reads_audit() and role.description == migration.NEW_DESCRIPTION
    assert set(role.permissions.values_list("pk", flat=True)) == kept  # nothing else taken
    sync_builtin_role_permissions()  # the post_migrate sync does not put it back
    assert not admin_reads_audit()

    migration.give_audit_back_to_admin(apps, None)
    role.refresh_from_db()
    assert admin_reads_audit() and role.description == migration.OLD_DESCRIPTION


def test_an_owners_own_description_is_kept():
    Role.objects.filter(name="admin").update(description="Kế toán trưởng")
    migration.remove_audit_from_admin(apps, None)
    assert Role.objects.get(name="admin").description == "Kế toán trưởng"
