"""The semantic audit actions the approvals app records, with their labels, by table.

Stored values never change (docs/audit.md): API clients filter on them (`/api/audit/?action=`)
and reports read them (`approvals.reports.queries`). `complete` on `pr` is a payment request
completed (paid); the invoices app records `complete` on `invoices` for each of its invoices.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PaymentRequestAction(models.TextChoices):
    """Table `pr`: the request's lifecycle (approvals.services)."""

    CREATE = "create_pr", _("Payment request created")
    UPDATE = "update_pr", _("Payment request edited")
    DELETE = "delete_pr", _("Payment request deleted")
    REQUEST_APPROVAL = "request_approval", _("Approval requested")
    APPROVE = "approve", _("Approved")
    REJECT = "reject", _("Rejected")
    RETRACT = "retract", _("Approval retracted")
    RECALL = "recall", _("Recalled")
    COMPLETE = "complete", _("Completed")
    UNCOMPLETE = "uncomplete", _("Completion undone")


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
    ("pr", PaymentRequestAction),
    ("approval_flows", FlowAction),
    ("approval_delegations", DelegationAction),
]
