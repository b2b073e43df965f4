from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InvoicesConfig(AppConfig):
    name = "invoices"
    verbose_name = _("Invoices")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit.audit_actions import register_actions
        from invoices.audit_actions import TABLE, InvoiceAction

        register_actions(TABLE, InvoiceAction)
