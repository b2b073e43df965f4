from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit.audit_actions import register_actions
        from payments.audit_actions import TABLE, PaymentRequestAction, PaymentRequestContentAction

        register_actions(TABLE, PaymentRequestAction)
        register_actions(TABLE, PaymentRequestContentAction)
