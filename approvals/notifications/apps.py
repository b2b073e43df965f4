from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    """Approver notifications (docs/notifications.md): a Django app of its own nested in `approvals`, so its
    migrations never clash with the approval chain's (docs/adr/0004-notifications-app.md)."""

    name = "approvals.notifications"
    label = "notifications"
    verbose_name = _("Notifications")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from approvals.notifications.audit_actions import TABLE, DeliveryAction
        from audit.audit_actions import register_actions

        register_actions(TABLE, DeliveryAction)
