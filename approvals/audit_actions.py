"""The semantic audit actions the approval engine records, with their labels, by table.

Stored values never change (docs/audit.md): API clients filter on them (`/api/audit/?action=`).
The decisions on a document's chain are recorded by the document's app, on its own table.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class FlowAction(models.TextChoices):
    """Table `approval_flows`."""

    CREATE = "create_flow", _("Create flow")
    UPDATE = "update_flow", _("Update flow")
    DELETE = "delete_flow", _("Delete flow")


class DelegationAction(models.TextChoices):
    """Table `approval_delegations`."""

    CREATE = "create_delegation", _("Create delegation")
    DELETE = "delete_delegation", _("Delete delegation")


# (table, actions) for `audit.audit_actions.register_actions`.
REGISTERED = [
    ("approval_flows", FlowAction),
    ("approval_delegations", DelegationAction),
]
