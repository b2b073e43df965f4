"""Indexes the reports need on other apps' tables, created here (IF NOT EXISTS, reversible) so the
reports app never edits another app's migrations. See docs/reports.md for what each one serves."""

from django.db import migrations

INDEXES = {
    # Payables by month/supplier and aging: an index-only scan of the invoice columns they read,
    # instead of the wide heap rows (VACUUM keeps the visibility map current).
    "reports_invoices_payables_idx": "ON invoices (issue_date) INCLUDE (id, status, total_payable, exchange_rate, seller_tax_code)",
    # The payable status of an invoice: its link and the linked PR's status, index-only.
    "reports_pr_invoice_invoice_pr_idx": "ON pr_invoice (invoice_id) INCLUDE (pr_id)",
    "reports_pr_status_idx": "ON pr (id) INCLUDE (status, type, amount)",
    # Approval cycle time / oldest pending: the latest request_approval entry of a PR.
    "reports_audit_request_approval_idx": "ON audit (record_id, occurred_at DESC) WHERE action = 'request_approval' AND table_name = 'pr'",
    # Step and chain completion: the latest record of a step / of a chain.
    "reports_approval_records_step_time_idx": "ON approval_records (step_id, approved_at DESC)",
    "reports_approval_records_chain_time_idx": "ON approval_records (approval_id, approved_at DESC)",
}


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_report_permission"),
        ("audit", "0001_initial"),
        ("approvals", "0001_initial"),
        ("invoices", "0001_initial"),
        ("payments", "0003_pr_invoice"),
    ]

    operations = [
        migrations.RunSQL(f"CREATE INDEX IF NOT EXISTS {name} {definition}", f"DROP INDEX IF EXISTS {name}")
        for name, definition in INDEXES.items()
    ]
