from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    """Webhooks and the events feed (docs/webhooks.md): a Django app nested in `payments` (like
    notifications, ADR 0004), so it may read requests and invoices and keeps migrations of its own."""

    name = "payments.webhooks"
    label = "webhooks"
    verbose_name = _("Webhooks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit.audit_actions import register_actions
        from invoices.signals import invoice_marked_obsolete, invoices_imported
        from payments import events
        from payments.webhooks.audit_actions import TABLE_DELIVERIES, TABLE_ENDPOINTS, DeliveryAction, EndpointAction
        from payments.webhooks.services import record_invoices_imported

        register_actions(TABLE_ENDPOINTS, EndpointAction)
        register_actions(TABLE_DELIVERIES, DeliveryAction)
        invoices_imported.connect(record_invoices_imported, dispatch_uid="webhooks.invoices_imported")
        invoice_marked_obsolete.connect(events.invoice_marked_obsolete, dispatch_uid="events.invoice_marked_obsolete")
