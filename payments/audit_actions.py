"""The semantic audit actions the payments app records on a payment request (table `pr`): its
lifecycle, and the changes of its attachments and invoices.

Stored values never change (docs/audit.md): API clients filter on them (`/api/audit/?action=`)
and reports read them (`payments.reports.queries`). `complete` on `pr` is a payment request
completed (paid); the invoices app records `complete` on `invoices` for each of its invoices.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

TABLE = "pr"


class PaymentRequestAction(models.TextChoices):
    """Table `pr`: the request's lifecycle (payments.services)."""

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


class PaymentRequestContentAction(models.TextChoices):
    ATTACH_FILE = "attach_file", _("Attach file")
    DETACH_FILE = "detach_file", _("Detach file")
    LINK_INVOICE = "link_invoice", _("Link invoice")
    UNLINK_INVOICE = "unlink_invoice", _("Unlink invoice")
    MOVE_INVOICE = "move_invoice", _("Move invoice")
