"""The semantic audit actions the invoices app records (table `invoices`), with their labels.

Stored values never change (docs/audit.md). `complete` is also a payment request's action
(`approvals.audit_actions.PaymentRequestAction.COMPLETE`, table `pr`): the table tells them apart.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

TABLE = "invoices"


class InvoiceAction(models.TextChoices):
    MARK_OBSOLETE = "mark_obsolete", _("Mark obsolete")
    RESTORE = "restore", _("Restore")
    COMPLETE = "complete", _("Completed")
    REOPEN = "reopen", _("Reopen")
    UPDATE_PAYMENT_DETAILS = "update_payment_details", _("Update payment details")
    IMPORT = "import", _("Import")
    OVERRIDE_SIGNATURE = "override_signature", _("Override signature check")
    VERIFY_SIGNATURES = "verify_signatures", _("Signatures checked again")
