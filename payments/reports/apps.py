from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    """Reports: read-only aggregates over invoices, payment requests and their approval chains.
    Nested in `payments` (the top of the dependency order) so it may read every app below it,
    with migrations of its own (the permission model and the report indexes)."""

    name = "payments.reports"
    label = "reports"
    verbose_name = _("Reports")
    default_auto_field = "django.db.models.BigAutoField"
