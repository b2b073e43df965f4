from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    """Notifications about payment requests (docs/notifications.md): a Django app of its own nested in
    `payments`, so its migrations never clash with the request's (docs/adr/0004-notifications-app.md)."""

    name = "payments.notifications"
    label = "notifications"
    verbose_name = _("Notifications")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit.audit_actions import register_actions
        from payments.notifications.audit_actions import TABLE, DeliveryAction

        register_actions(TABLE, DeliveryAction)
