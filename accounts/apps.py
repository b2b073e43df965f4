from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import accounts.schema  # noqa: F401  (registers the OpenAPI auth extension)
        from accounts.audit_actions import TABLE, UserAction
        from accounts.roles import sync_builtin_role_permissions

        # Permissions of later apps exist only after their post_migrate; granting them
        # to the built-in roles has to follow, so it hangs off the same signal.
        post_migrate.connect(sync_builtin_role_permissions, dispatch_uid="accounts.sync_builtin_roles")
        from audit.audit_actions import register_actions

        register_actions(TABLE, UserAction)
