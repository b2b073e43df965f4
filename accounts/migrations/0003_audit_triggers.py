from django.db import migrations

from audit.operations import AuditTrigger


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_builtin_roles"), ("audit", "0001_initial")]

    operations = [
        # Password hashes never enter the audit log.
        AuditTrigger("users", exclude_columns=["password"]),
        AuditTrigger("teams"),
        AuditTrigger("roles"),
        AuditTrigger("role_permissions"),
        AuditTrigger("user_roles"),
    ]
