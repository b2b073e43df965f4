from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RequestGuardConfig(AppConfig):
    """Request protection (issue 10/11): idempotency keys for API writes and the sign-in
    lock-out. Nested in `accounts` with its own label and migrations, so its infrastructure
    tables never touch the accounts app's migration history (docs/api-guard.md)."""

    name = "accounts.requestguard"
    label = "requestguard"
    verbose_name = _("Request guard")
    default_auto_field = "django.db.models.BigAutoField"
