"""The approval timing facts (approvals 0006: `approval.requested_at` / `completed_at`,
`approval_steps.started_at` / `completed_at`) filled for the chains already requested, from what was
the only record of them: the PR's latest `request_approval` audit entry (the current cycle: a reject or
recall clears the records, a new request starts again) and the approval records (a satisfied step
completed at its last record). Payments does it, not the engine: which chains run, and the request
entries, are the payment request's.

Set-based, one statement per table (hash aggregates over the request entries' partial index and the
records; no probe per row, which on a partitioned audit log would be one per month). Chains without a
request entry (rows written outside the services) take the earliest of their first record and their
last change. Reverse: nothing (the columns go with approvals 0006)."""

from django.db import migrations

from acountee.db.migration_ops import unbounded

CHAINS = """
UPDATE approval a
SET requested_at = t.requested_at, completed_at = t.completed_at
FROM (
    SELECT pr.approval_id,
           COALESCE(req.at, LEAST(rec.first_at, ap.updated_at)) AS requested_at,
           CASE WHEN pr.status IN ('approved', 'completed') THEN COALESCE(rec.last_at, ap.updated_at) END
               AS completed_at
    FROM pr
    JOIN approval ap ON ap.id = pr.approval_id
    LEFT JOIN (
        SELECT record_id, max(occurred_at) AS at FROM audit
        WHERE action = 'request_approval' AND table_name = 'pr' GROUP BY record_id
    ) req ON req.record_id = pr.id::text
    LEFT JOIN (
        SELECT approval_id, min(approved_at) AS first_at, max(approved_at) AS last_at
        FROM approval_records GROUP BY approval_id
    ) rec ON rec.approval_id = pr.approval_id
    WHERE pr.status IN ('pending', 'approved', 'completed') AND ap.current_step > 0
) t
WHERE a.id = t.approval_id
"""

# A step has started when it is the current step or before it (every step of a completed chain);
# it completed at its last record when it is before the current step or its chain completed. It
# started when the step before it completed (the first step: at the request).
STEPS = """
UPDATE approval_steps s
SET started_at = t.started_at, completed_at = t.completed_at
FROM (
    SELECT x.id, x.completed_at,
           CASE WHEN row_number() OVER w = 1 THEN x.requested_at ELSE lag(x.completed_at) OVER w END AS started_at
    FROM (
        SELECT st.id, st.approval_id, st.number, a.requested_at,
               CASE WHEN a.completed_at IS NOT NULL OR st.number < a.current_step
                    THEN COALESCE(r.last_at, a.requested_at) END AS completed_at
        FROM approval_steps st
        JOIN approval a ON a.id = st.approval_id
        LEFT JOIN (SELECT step_id, max(approved_at) AS last_at FROM approval_records GROUP BY step_id) r
            ON r.step_id = st.id
        WHERE a.requested_at IS NOT NULL AND st.number <= a.current_step
    ) x
    WINDOW w AS (PARTITION BY x.approval_id ORDER BY x.number)
) t
WHERE s.id = t.id AND t.started_at IS NOT NULL
"""


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0006_approval_timing"),
        ("audit", "0012_partition_audit_by_month"),
        ("payments", "0010_sync_updated_at_index"),
    ]

    # Reads the audit log's request entries and every approval record: past the requests' statement timeout on a
    # large database.
    operations = unbounded(
        migrations.RunSQL(CHAINS, migrations.RunSQL.noop, elidable=False),
        migrations.RunSQL(STEPS, migrations.RunSQL.noop, elidable=False),
        # Fresh statistics for the filled columns: until autovacuum gets to them the planner would take every
        # chain for one still waiting.
        migrations.RunSQL("ANALYZE approval, approval_steps", migrations.RunSQL.noop, elidable=False),
    )
