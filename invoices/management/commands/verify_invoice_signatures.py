"""`manage.py verify_invoice_signatures [--all | --ids N …]`: check stored invoices' signatures again.

By default the invoices never checked (imported before verification existed, or while
INVOICE_VERIFY_SIGNATURES was off); `--all` every invoice (after configuring a trust store, say).
Prints each invoice whose outcome changed and those that may no longer be paid; exit status 1 when
any invoice is now refused (someone has to look at it), 0 otherwise.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import CommandParser
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from audit.commands import SystemCommand
from invoices.models import Invoice, SignatureStatus
from invoices.services import invoices_verify_signatures


class Command(SystemCommand):
    help = "Check the signatures of stored invoices again, from their source files."

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--all", action="store_true", help="every invoice, not only those never checked")
        which.add_argument("--ids", type=int, nargs="+", metavar="ID", help="only these invoices")

    def handle(self, *args: Any, **options: Any) -> None:
        result = invoices_verify_signatures(ids=options["ids"], everything=options["all"])
        if result.changed:
            outcomes = dict(Invoice.objects.filter(pk__in=result.changed).values_list("pk", "seller_signature"))
            for pk in result.changed:
                self.stdout.write(
                    _("Invoice #%(id)s: the seller's signature is now %(status)s.")
                    % {"id": pk, "status": SignatureStatus(outcomes[pk]).label}
                )
        for row in result.refused:
            where = (
                _(" It is in payment request #%(pr)s: look at that request.") % {"pr": row["pr"]} if row["pr"] else ""
            )
            self.stdout.write(
                self.style.ERROR(
                    _("Invoice #%(id)s may not be paid: %(reason)s") % {"id": row["id"], "reason": row["message"]}
                    + where
                )
            )
        for pk in result.missing_file:
            self.stdout.write(self.style.WARNING(_("Invoice #%(id)s: its source file is missing.") % {"id": pk}))
        summary = _("%(checked)s invoices checked, %(changed)s changed, %(refused)s may not be paid.") % {
            "checked": number_format(result.checked, force_grouping=True),
            "changed": number_format(len(result.changed), force_grouping=True),
            "refused": number_format(len(result.refused), force_grouping=True),
        }
        if result.refused:
            self.stdout.write(self.style.ERROR(summary))
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS(summary))
