"""The built-in `admin` role no longer reads the audit log: only owners see users, roles and
the audit (issue #9). `sync_builtin_role_permissions` only ever adds, so taking the grant
back needs this migration. Its description said "sees everything"; it is corrected where an
owner has not rewritten it."""

from django.db import migrations

OLD_DESCRIPTION = "Back-office administrator: sees everything, keeps payment methods."
NEW_DESCRIPTION = "Back-office administrator: reads invoices, payment requests and flows, keeps payment methods."


def _admin_role_and_permission(apps):
    Role = apps.get_model("accounts", "Role")
    Permission = apps.get_model("auth", "Permission")
    role = Role.objects.filter(name="admin", is_builtin=True).first()
    # On a fresh database the permission does not exist yet (post_migrate creates it).
    perm = Permission.objects.filter(content_type__app_label="audit", codename="view_auditentry").first()
    return role, perm


def remove_audit_from_admin(apps, schema_editor):
    role, perm = _admin_role_and_permission(apps)
    if role is None:
        return
    if perm is not None:
        role.permissions.remove(perm)
    if role.description == OLD_DESCRIPTION:
        role.description = NEW_DESCRIPTION
        role.save(update_fields=["description"])


def give_audit_back_to_admin(apps, schema_editor):
    role, perm = _admin_role_and_permission(apps)
    if role is None:
        return
    if perm is not None:
        role.permissions.add(perm)
    if role.description == NEW_DESCRIPTION:
        role.description = OLD_DESCRIPTION
        role.save(update_fields=["description"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_user_language"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(remove_audit_from_admin, give_audit_back_to_admin)]
