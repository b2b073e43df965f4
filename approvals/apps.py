from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = _("Approvals")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks

        from approvals.checks import check_self_approval

        checks.register(check_self_approval, checks.Tags.security)

        from approvals.audit_actions import REGISTERED
        from audit.audit_actions import register_actions

        for table, actions in REGISTERED:
            register_actions(table, actions)
