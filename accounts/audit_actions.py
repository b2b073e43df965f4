"""The semantic audit actions the accounts app records on a user (table `users`).

They accompany security events (`accounts.security`): why next to the row change. Stored values
never change (docs/audit.md).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

TABLE = "users"


class UserAction(models.TextChoices):
    ASSIGN_ROLE = "assign_role", _("Assign role")
    REVOKE_ROLE = "revoke_role", _("Revoke role")
    SET_PASSWORD = "set_password", _("Set password")
    REVOKE_API_TOKENS = "revoke_api_tokens", _("Revoke api tokens")
