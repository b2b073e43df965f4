"""The payables rollups (docs/reports.md, docs/adr/0012-payables-rollups-as-delta-rows.md): four derived
tables the payables reports and the admin home read instead of every invoice, kept by statement-level
triggers on invoices, pr_invoice and pr in the transaction of each change (so services, bulk actions,
raw SQL and later data migrations are all covered), and filled here from the existing rows in one
set-based pass (GROUPING SETS: one scan of invoices for the four tables).

The triggers are created before the backfill: CREATE TRIGGER takes a SHARE ROW EXCLUSIVE lock on each
table, so no write can slip between the backfill's snapshot and the triggers (writers wait for the
commit of this migration)."""

from django.db import migrations, models

from acountee.db.migration_ops import unbounded

# ---- Trigger SQL (installed by the migration) ------------------------------------------------------------
# Every trigger builds `changes`: one row per (invoice, payable key) with sign +1 (the invoice now counts
# there) or -1 (it no longer does), then INSERT_DELTAS adds one delta row per key whose net change is not
# zero to each rollup. Rows are only ever inserted (docs/adr/0012).
INSERT_DELTAS = """
, d_month AS (
    INSERT INTO reports_payables_month (month, pr_status, invoices, amount)
    SELECT date_trunc('month', issue_date::timestamp)::date, pr_status, sum(sign), sum(sign * amount)
      FROM changes WHERE invoice_status <> 'redundant'
     GROUP BY 1, 2 HAVING sum(sign) <> 0 OR sum(sign * amount) <> 0
), d_supplier AS (
    INSERT INTO reports_payables_supplier (seller_tax_code, invoice_status, invoices, amount)
    SELECT seller_tax_code, invoice_status, sum(sign), sum(sign * amount)
      FROM changes WHERE invoice_status <> 'redundant'
     GROUP BY 1, 2 HAVING sum(sign) <> 0 OR sum(sign * amount) <> 0
), d_supplier_month AS (
    INSERT INTO reports_payables_supplier_month (seller_tax_code, month, invoice_status, invoices, amount)
    SELECT seller_tax_code, date_trunc('month', issue_date::timestamp)::date, invoice_status, sum(sign),
           sum(sign * amount)
      FROM changes WHERE invoice_status <> 'redundant'
     GROUP BY 1, 2, 3 HAVING sum(sign) <> 0 OR sum(sign * amount) <> 0
)
INSERT INTO reports_unlinked_invoices_day (issue_date, invoices, amount)
SELECT issue_date, sum(sign), sum(sign * amount)
  FROM changes WHERE invoice_status = 'imported' AND pr_status = ''
 GROUP BY 1 HAVING sum(sign) <> 0 OR sum(sign * amount) <> 0;
"""


def _invoice(alias: str, pr_status: str, sign: str) -> str:
    return (
        f"{alias}.seller_tax_code, {alias}.issue_date, {alias}.status AS invoice_status, "
        f"{pr_status} AS pr_status, {alias}.total_payable * {alias}.exchange_rate AS amount, {sign} AS sign"
    )


def _invoices_rows(rows: str, sign: str, where: str = "") -> str:
    """Rows of `invoices` (a transition table) counted where their link puts them now."""
    return (
        "SELECT " + _invoice("i", "COALESCE(p.status, '')", sign) + f" FROM {rows} i "
        f"LEFT JOIN pr_invoice l ON l.invoice_id = i.id LEFT JOIN pr p ON p.id = l.pr_id {where}"
    )


def _link_rows(rows: str, sign: int) -> str:
    """Links gained (sign 1) or lost (-1): the invoice leaves (enters) '' and enters (leaves) its PR's status."""
    return (
        f"SELECT {_invoice('i', 'v.pr_status', 'v.sign')} FROM {rows} l "
        "JOIN invoices i ON i.id = l.invoice_id JOIN pr p ON p.id = l.pr_id "
        f"CROSS JOIN LATERAL (VALUES ('', {-sign}), (p.status, {sign})) v (pr_status, sign)"
    )


def _function(name: str, body: str, declare: str = "") -> str:
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
{declare}BEGIN
{body}
    RETURN NULL;
END
$$;"""


def _pr_rows(rows: str, moves: str) -> str:
    """The invoices linked to PRs inserted or deleted (`rows`), moved between '' and the PR's status."""
    return (
        "    WITH changes AS (SELECT " + _invoice("i", "v.pr_status", "v.sign") + f" FROM {rows} r "
        "JOIN pr_invoice l ON l.pr_id = r.id JOIN invoices i ON i.id = l.invoice_id "
        f"CROSS JOIN LATERAL (VALUES {moves}) v (pr_status, sign))"
    )


RELEVANT = "(o.seller_tax_code, o.issue_date, o.status, o.total_payable, o.exchange_rate)"
LOCK_LINKS = """
    PERFORM 1 FROM pr WHERE id IN (SELECT pr_id FROM {rows}) ORDER BY id FOR SHARE;
    PERFORM 1 FROM invoices WHERE id IN (SELECT invoice_id FROM {rows}) ORDER BY id FOR SHARE;"""

FUNCTIONS = {
    "reports_rollup_invoices_insert": _function(
        "reports_rollup_invoices_insert",
        f"    WITH changes AS ({_invoices_rows('new_rows', '1')}){INSERT_DELTAS}",
    ),
    "reports_rollup_invoices_delete": _function(
        "reports_rollup_invoices_delete",
        f"    WITH changes AS ({_invoices_rows('old_rows', '-1')}){INSERT_DELTAS}",
    ),
    # Only rows whose counted values changed; their PRs are share-locked first (id order) so that a
    # concurrent status change of the PR is either seen here or sees this row's new values.
    "reports_rollup_invoices_update": _function(
        "reports_rollup_invoices_update",
        f"""    SELECT array_agg(o.id) INTO changed FROM old_rows o JOIN new_rows n ON n.id = o.id
     WHERE {RELEVANT} IS DISTINCT FROM {RELEVANT.replace("o.", "n.")};
    IF changed IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM pr WHERE id IN (SELECT pr_id FROM pr_invoice WHERE invoice_id = ANY (changed))
     ORDER BY id FOR SHARE;
    WITH changes AS (
        {_invoices_rows("old_rows", "-1", "WHERE i.id = ANY (changed)")}
        UNION ALL
        {_invoices_rows("new_rows", "1", "WHERE i.id = ANY (changed)")}
    ){INSERT_DELTAS}""",
        declare="DECLARE\n    changed bigint[];\n",
    ),
    # A link's PR and invoice are share-locked first (PR, then invoices, each in id order: the order
    # the services lock in) so that a concurrent change of either is seen here or sees this link.
    "reports_rollup_pr_invoice_insert": _function(
        "reports_rollup_pr_invoice_insert",
        LOCK_LINKS.format(rows="new_rows") + f"\n    WITH changes AS ({_link_rows('new_rows', 1)}){INSERT_DELTAS}",
    ),
    "reports_rollup_pr_invoice_delete": _function(
        "reports_rollup_pr_invoice_delete",
        LOCK_LINKS.format(rows="old_rows") + f"\n    WITH changes AS ({_link_rows('old_rows', -1)}){INSERT_DELTAS}",
    ),
    "reports_rollup_pr_invoice_update": _function(
        "reports_rollup_pr_invoice_update",
        LOCK_LINKS.format(
            rows="(SELECT pr_id, invoice_id FROM old_rows UNION SELECT pr_id, invoice_id FROM new_rows) r"
        )
        + f"""
    WITH changes AS (
        {_link_rows("old_rows", -1)}
        UNION ALL
        {_link_rows("new_rows", 1)}
    ){INSERT_DELTAS}""",
    ),
    # A PR that appears or disappears while links to it exist (foreign keys are checked at commit, so
    # raw SQL may delete a PR before its links, or link before the PR is inserted): its invoices move
    # between '' and its status here, and the link trigger, finding no PR, adds nothing.
    "reports_rollup_pr_insert": _function(
        "reports_rollup_pr_insert",
        _pr_rows("new_rows", "('', -1), (r.status, 1)") + INSERT_DELTAS,
    ),
    "reports_rollup_pr_delete": _function(
        "reports_rollup_pr_delete",
        _pr_rows("old_rows", "(r.status, -1), ('', 1)") + INSERT_DELTAS,
    ),
    # A PR's status change moves its invoices from the old status to the new one.
    "reports_rollup_pr_update": _function(
        "reports_rollup_pr_update",
        """    WITH moved AS (
        SELECT o.id, o.status AS old_status, n.status AS new_status
          FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE o.status IS DISTINCT FROM n.status
    ), changes AS (
        SELECT """
        + _invoice("i", "v.pr_status", "v.sign")
        + """
          FROM moved m JOIN pr_invoice l ON l.pr_id = m.id JOIN invoices i ON i.id = l.invoice_id
         CROSS JOIN LATERAL (VALUES (m.old_status, -1), (m.new_status, 1)) v (pr_status, sign)
    )"""
        + INSERT_DELTAS,
    ),
}

TRIGGERS = [
    # (trigger and function name, table, event, transition tables)
    ("reports_rollup_invoices_insert", "invoices", "INSERT", "NEW TABLE AS new_rows"),
    ("reports_rollup_invoices_update", "invoices", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ("reports_rollup_invoices_delete", "invoices", "DELETE", "OLD TABLE AS old_rows"),
    ("reports_rollup_pr_invoice_insert", "pr_invoice", "INSERT", "NEW TABLE AS new_rows"),
    ("reports_rollup_pr_invoice_update", "pr_invoice", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ("reports_rollup_pr_invoice_delete", "pr_invoice", "DELETE", "OLD TABLE AS old_rows"),
    ("reports_rollup_pr_insert", "pr", "INSERT", "NEW TABLE AS new_rows"),
    ("reports_rollup_pr_update", "pr", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ("reports_rollup_pr_delete", "pr", "DELETE", "OLD TABLE AS old_rows"),
]


BACKFILL = """
WITH raw AS (
    SELECT i.seller_tax_code, i.issue_date, date_trunc('month', i.issue_date::timestamp)::date AS month,
           i.status AS invoice_status, COALESCE(p.status, '') AS pr_status,
           (l.id IS NULL AND i.status = 'imported') AS unlinked, i.total_payable * i.exchange_rate AS amount
      FROM invoices i LEFT JOIN pr_invoice l ON l.invoice_id = i.id LEFT JOIN pr p ON p.id = l.pr_id
     WHERE i.status <> 'redundant'
), g AS (
    -- GROUPING(...) names the grouping set: a bit is 1 for a column the set leaves out
    -- (month 32, pr_status 16, seller 8, invoice_status 4, unlinked 2, issue_date 1).
    SELECT GROUPING(month, pr_status, seller_tax_code, invoice_status, unlinked, issue_date) AS gs,
           month, pr_status, seller_tax_code, invoice_status, unlinked, issue_date,
           count(*) AS invoices, sum(amount) AS amount
      FROM raw
     GROUP BY GROUPING SETS ((month, pr_status), (seller_tax_code, invoice_status),
                             (seller_tax_code, month, invoice_status), (unlinked, issue_date))
), m AS (
    INSERT INTO reports_payables_month (month, pr_status, invoices, amount)
    SELECT month, pr_status, invoices, amount FROM g WHERE gs = 15
), s AS (
    INSERT INTO reports_payables_supplier (seller_tax_code, invoice_status, invoices, amount)
    SELECT seller_tax_code, invoice_status, invoices, amount FROM g WHERE gs = 51
), sm AS (
    INSERT INTO reports_payables_supplier_month (seller_tax_code, month, invoice_status, invoices, amount)
    SELECT seller_tax_code, month, invoice_status, invoices, amount FROM g WHERE gs = 19
)
INSERT INTO reports_unlinked_invoices_day (issue_date, invoices, amount)
SELECT issue_date, invoices, amount FROM g WHERE gs = 60 AND unlinked;
"""

FORWARD = "".join(FUNCTIONS.values()) + "".join(
    f"\nCREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION {name}();"
    for name, table, event, tables in TRIGGERS
)
BACKWARD = "".join(f"\nDROP TRIGGER IF EXISTS {name} ON {table};" for name, table, _e, _t in TRIGGERS) + "".join(
    f"\nDROP FUNCTION IF EXISTS {name}();" for name in FUNCTIONS
)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0003_drop_record_time_indexes"),
        ("invoices", "0008_sync_updated_at_index"),
        ("payments", "0010_sync_updated_at_index"),
    ]

    # The backfill reads every invoice: past the requests' statement timeout on a large database.
    operations = unbounded(
        migrations.CreateModel(
            name="PayablesMonth",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("month", models.DateField()),
                ("pr_status", models.CharField(blank=True, max_length=16)),
                ("invoices", models.BigIntegerField()),
                ("amount", models.DecimalField(decimal_places=8, max_digits=40)),
            ],
            options={
                "db_table": "reports_payables_month",
                "default_permissions": (),
                "verbose_name": "payables per month (rollup)",
                "verbose_name_plural": "payables per month (rollup)",
            },
        ),
        migrations.CreateModel(
            name="PayablesSupplier",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("seller_tax_code", models.CharField(max_length=20)),
                ("invoice_status", models.CharField(max_length=16)),
                ("invoices", models.BigIntegerField()),
                ("amount", models.DecimalField(decimal_places=8, max_digits=40)),
            ],
            options={
                "db_table": "reports_payables_supplier",
                "default_permissions": (),
                "verbose_name": "payables per supplier (rollup)",
                "verbose_name_plural": "payables per supplier (rollup)",
            },
        ),
        migrations.CreateModel(
            name="UnlinkedInvoicesDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("issue_date", models.DateField()),
                ("invoices", models.BigIntegerField()),
                ("amount", models.DecimalField(decimal_places=8, max_digits=40)),
            ],
            options={
                "db_table": "reports_unlinked_invoices_day",
                "default_permissions": (),
                "verbose_name": "unlinked invoices per day (rollup)",
                "verbose_name_plural": "unlinked invoices per day (rollup)",
            },
        ),
        migrations.CreateModel(
            name="PayablesSupplierMonth",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("seller_tax_code", models.CharField(max_length=20)),
                ("month", models.DateField()),
                ("invoice_status", models.CharField(max_length=16)),
                ("invoices", models.BigIntegerField()),
                ("amount", models.DecimalField(decimal_places=8, max_digits=40)),
            ],
            options={
                "db_table": "reports_payables_supplier_month",
                "default_permissions": (),
                "verbose_name": "payables per supplier and month (rollup)",
                "verbose_name_plural": "payables per supplier and month (rollup)",
                "indexes": [
                    models.Index(
                        fields=["month"],
                        include=["seller_tax_code", "invoice_status", "invoices", "amount"],
                        name="reports_pay_sup_month_idx",
                    )
                ],
            },
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        # Statistics for the new tables now rather than at autovacuum's next pass.
        migrations.RunSQL(
            "ANALYZE reports_payables_month, reports_payables_supplier, reports_payables_supplier_month,"
            " reports_unlinked_invoices_day",
            migrations.RunSQL.noop,
        ),
    )
