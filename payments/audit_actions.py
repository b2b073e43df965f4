"""The semantic audit actions the payments app records on a payment request (table `pr`).

The request's lifecycle actions are the approvals app's (`approvals.audit_actions`); these are
the changes of its attachments and invoices. Stored values never change (docs/audit.md).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

TABLE = "pr"


class PaymentRequestContentAction(models.TextChoices):
    ATTACH_FILE = "attach_file", _("Attach file")
    DETACH_FILE = "detach_file", _("Detach file")
    LINK_INVOICE = "link_invoice", _("Link invoice")
    UNLINK_INVOICE = "unlink_invoice", _("Unlink invoice")
    MOVE_INVOICE = "move_invoice", _("Move invoice")
