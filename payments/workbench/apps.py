from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkbenchConfig(AppConfig):
    """Period-end workbench (docs/workbench.md): a Django app of its own nested in `payments`, so its
    migrations never clash with the payment requests' (docs/workbench.md). It sits on top of
    invoices, payments and approvals and uses their services; nothing imports it."""

    name = "payments.workbench"
    label = "workbench"
    verbose_name = _("Period-end workbench")
    default_auto_field = "django.db.models.BigAutoField"
