"""The cycle-time report became one statement that hash-joins whole tables (no per-step probes),
so the two approval_records indexes 0002 added for those probes only cost writes: drop them."""

from django.db import migrations

DROPPED = {
    "reports_approval_records_step_time_idx": "ON approval_records (step_id, approved_at DESC)",
    "reports_approval_records_chain_time_idx": "ON approval_records (approval_id, approved_at DESC)",
}


class Migration(migrations.Migration):
    dependencies = [("reports", "0002_report_indexes")]

    operations = [
        migrations.RunSQL(f"DROP INDEX IF EXISTS {name}", f"CREATE INDEX IF NOT EXISTS {name} {definition}")
        for name, definition in DROPPED.items()
    ]
