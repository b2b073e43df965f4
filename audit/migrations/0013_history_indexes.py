"""Indexes for one record's history (audit/selectors.py `history_condition`, docs/audit.md "History").

The history of a record gathers its child rows' entries by the parent key in their JSON
snapshots: `table_name = '<child>' AND (after -> '<key>' IN (…) OR before -> '<key>' IN (…))`.
Without an index that reads every entry of the child table (the invoice page read all ~10 M line
entries at 1,000,000 invoices, and timed out). One expression index per side of each child rule
of `audit/history.py`, partial on the child table and on the key being present (the IN list
implies it, so the planner uses the index; the `before` side holds only updates and deletes and
stays small). Created on the partitioned table: PostgreSQL builds it on every partition and on
every partition created later (`audit_create_partition`, tests/audit/test_history_indexes.py).

A rule added later needs its two indexes in a new migration: the test fails until then.
Build time: ~9 s for the 1.6 M entries of the 100k data set (one pass over the partitions per
index, ~0.4 s each; the lines' `after` index, ~3 s, is the largest), so ~1.5 min at 15 M entries; `audit` is
append-only, so a plain CREATE INDEX (which blocks inserts meanwhile) runs in the deploy's
transaction like the project's other index migrations (docs/performance.md), without the requests' statement
timeout (`unbounded`).
"""

from django.db import migrations

from acountee.db.migration_ops import unbounded

# (child table, parent key): the CHILD_RULES of audit/history.py when this migration was written.
RULES = [
    ("invoice_services", "invoice_id"),
    ("pr_invoice", "invoice_id"),
    ("pr_invoice", "pr_id"),
    ("pr_attachments", "pr_id"),
    ("approval_steps", "approval_id"),
    ("approval_records", "approval_id"),
    ("approval_step_users", "step_id"),
    ("approval_flow_steps", "flow_id"),
    ("approval_flow_step_users", "step_id"),
    ("role_permissions", "role_id"),
    ("user_roles", "user_id"),
]


def _operations() -> list[migrations.RunSQL]:
    operations = []
    for table, key in RULES:
        for side in ("after", "before"):
            name = f"audit_hist_{table}_{key}_{side}"
            operations.append(
                migrations.RunSQL(
                    f"CREATE INDEX IF NOT EXISTS {name} ON audit (({side} -> '{key}'))"
                    f" WHERE table_name = '{table}' AND ({side} -> '{key}') IS NOT NULL",
                    f"DROP INDEX IF EXISTS {name}",
                )
            )
    return operations


class Migration(migrations.Migration):
    dependencies = [("audit", "0012_partition_audit_by_month")]

    operations = unbounded(*_operations())
