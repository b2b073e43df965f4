from django.db import migrations

BUILTIN_ROLES = {
    "owner": "Full administration: users, teams, roles, approval flows and everything else.",
    "finance": "Finance staff: import invoices, prepare, complete and pay payment requests.",
    "admin": "Back-office administrator: sees everything, keeps payment methods.",
    "bod": "Board of directors: reads invoices and payment requests, approves when assigned.",
}


def create_builtin_roles(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    for name, description in BUILTIN_ROLES.items():
        Role.objects.update_or_create(name=name, defaults={"description": description, "is_builtin": True})


def remove_builtin_roles(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    Role.objects.filter(name__in=BUILTIN_ROLES, assignments__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(create_builtin_roles, remove_builtin_roles)]
