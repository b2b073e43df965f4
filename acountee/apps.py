from django.apps import AppConfig


class AcounteeConfig(AppConfig):
    name = "acountee"
    verbose_name = "Acountee"

    def ready(self) -> None:
        from django.apps import apps
        from django.core import checks
        from django.db.models.signals import post_migrate

        from acountee.checks import check_database_roles
        from acountee.db.roles import on_post_migrate

        # After every migrate (run as the owner role): the runtime role gets its privileges. Sent
        # once per app with models; the audit app's is enough (every table exists by then).
        post_migrate.connect(
            on_post_migrate, sender=apps.get_app_config("audit"), dispatch_uid="acountee_runtime_grants"
        )
        checks.register(check_database_roles, checks.Tags.security, deploy=True)
