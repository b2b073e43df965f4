"""The reports app stores nothing: one unmanaged model carries its permission (`reports.view_reports`)
so roles can grant reports like any other Django permission, and the admin lists a Reports entry."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from acountee.money import DecimalSize


class Report(models.Model):
    """No table (unmanaged): reports are computed from other apps' tables on every request.

    Why a model at all: Django permissions hang on a content type, and owners grant
    `reports.view_reports` to roles through the same role editor as everything else."""

    class Meta:
        managed = False
        db_table = "reports_none"
        default_permissions = ()
        permissions = [("view_reports", _("Can view the reports"))]
        verbose_name = _("report")
        verbose_name_plural = _("reports")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)


# --- payables rollups (docs/reports.md "How the figures are computed", docs/adr/0012) -------------------
# Derived, not business tables: PostgreSQL triggers on invoices, pr_invoice and pr (migration
# reports.0004) insert one signed delta row per key a statement changes, in the changing transaction;
# readers sum the rows of a key; `payments.reports.rollups.rollups_compact` folds each key's rows into
# one now and then. Rows are never updated, so concurrent writers never wait on each other here.
ROLLUP_AMOUNT: DecimalSize = {"max_digits": 40, "decimal_places": 8}  # total_payable (2 places) x exchange_rate (6)


class RollupRow(models.Model):
    """One delta of a key: how many invoices and how much (VND) the key gained (or lost, negative)."""

    invoices = models.BigIntegerField()
    amount = models.DecimalField(**ROLLUP_AMOUNT)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.invoices} / {self.amount}"


class PayablesMonth(RollupRow):
    """Non-obsolete invoices per issue month and payable status: `pr_status` is the linked PR's
    status, '' when the invoice is in no PR (payables by month, the admin home's block)."""

    month = models.DateField()
    pr_status = models.CharField(max_length=16, blank=True)

    class Meta:
        db_table = "reports_payables_month"
        default_permissions = ()
        verbose_name = _("payables per month (rollup)")
        verbose_name_plural = _("payables per month (rollup)")


class PayablesSupplier(RollupRow):
    """Non-obsolete invoices per seller tax code and invoice status (imported/completed), all time
    (payables by supplier without a period)."""

    seller_tax_code = models.CharField(max_length=20)
    invoice_status = models.CharField(max_length=16)

    class Meta:
        db_table = "reports_payables_supplier"
        default_permissions = ()
        verbose_name = _("payables per supplier (rollup)")
        verbose_name_plural = _("payables per supplier (rollup)")


class PayablesSupplierMonth(RollupRow):
    """Non-obsolete invoices per seller tax code, issue month and invoice status (payables by
    supplier over a period: its whole months)."""

    seller_tax_code = models.CharField(max_length=20)
    month = models.DateField()
    invoice_status = models.CharField(max_length=16)

    class Meta:
        db_table = "reports_payables_supplier_month"
        default_permissions = ()
        verbose_name = _("payables per supplier and month (rollup)")
        verbose_name_plural = _("payables per supplier and month (rollup)")
        # A period's months by index-only scan (the table is insert-only: autovacuum keeps the
        # visibility map current).
        indexes = [
            models.Index(
                fields=["month"],
                include=["seller_tax_code", "invoice_status", "invoices", "amount"],
                name="reports_pay_sup_month_idx",
            )
        ]


class UnlinkedInvoicesDay(RollupRow):
    """Imported invoices in no PR per issue date (aging, the admin home's "not yet in a payment
    request" count)."""

    issue_date = models.DateField()

    class Meta:
        db_table = "reports_unlinked_invoices_day"
        default_permissions = ()
        verbose_name = _("unlinked invoices per day (rollup)")
        verbose_name_plural = _("unlinked invoices per day (rollup)")
