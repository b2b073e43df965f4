"""The payables rollups (models `PayablesMonth`, `PayablesSupplier`, `PayablesSupplierMonth`,
`UnlinkedInvoicesDay`; docs/reports.md, docs/adr/0012-payables-rollups-as-delta-rows.md).

Triggers (migration reports.0004) insert signed delta rows in the transaction of every change to
invoices, pr_invoice and pr; a key's figure is the sum of its rows, so readers always group and
sum. Here: folding each key's rows into one (`rollups_compact`, the worker's hourly pass), the
comparison with the raw invoices an operator runs (`rollups_check`, `manage.py check_rollups`) and
the rebuild from the raw invoices (`rollups_rebuild`, `check_rollups --repair`).

Correctness never depends on compaction: it only keeps the tables near one row per key.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

logger = logging.getLogger(__name__)

# Compaction, check and rebuild exclude each other (a transaction-scoped advisory lock); triggers
# only insert, so they never wait for it.
ADVISORY_LOCK_KEY = 0x7265706F7274  # "report"
PASS_INTERVAL_SECONDS = 3600
_last_pass = [0.0]

# (table, its key columns): the readers group by these and sum `invoices` and `amount`.
ROLLUPS: dict[str, tuple[str, ...]] = {
    "reports_payables_month": ("month", "pr_status"),
    "reports_payables_supplier": ("seller_tax_code", "invoice_status"),
    "reports_payables_supplier_month": ("seller_tax_code", "month", "invoice_status"),
    "reports_unlinked_invoices_day": ("issue_date",),
}

# The same figures from the raw rows (one scan of invoices, GROUPING SETS); `gs` names the set
# (a GROUPING bit is 1 for a column the set leaves out: month 32, pr_status 16, seller 8,
# invoice_status 4, unlinked 2, issue_date 1). Migration reports.0004 backfills with this query.
RAW_SQL = """
WITH raw AS (
    SELECT i.seller_tax_code, i.issue_date, date_trunc('month', i.issue_date::timestamp)::date AS month,
           i.status AS invoice_status, COALESCE(p.status, '') AS pr_status,
           (l.id IS NULL AND i.status = 'imported') AS unlinked, i.total_payable * i.exchange_rate AS amount
      FROM invoices i LEFT JOIN pr_invoice l ON l.invoice_id = i.id LEFT JOIN pr p ON p.id = l.pr_id
     WHERE i.status <> 'redundant'
)
SELECT GROUPING(month, pr_status, seller_tax_code, invoice_status, unlinked, issue_date) AS gs,
       month, pr_status, seller_tax_code, invoice_status, unlinked, issue_date,
       count(*) AS invoices, sum(amount) AS amount
  FROM raw
 GROUP BY GROUPING SETS ((month, pr_status), (seller_tax_code, invoice_status),
                         (seller_tax_code, month, invoice_status), (unlinked, issue_date))
"""
RAW_SET = {
    "reports_payables_month": "gs = 15",
    "reports_payables_supplier": "gs = 51",
    "reports_payables_supplier_month": "gs = 19",
    "reports_unlinked_invoices_day": "gs = 60 AND unlinked",
}


@dataclass(frozen=True)
class Difference:
    table: str
    key: tuple[object, ...]
    rollup: tuple[int, Decimal]  # (invoices, amount) the rollup says
    raw: tuple[int, Decimal]  # what the invoices say


def _compact_sql(table: str, keys: tuple[str, ...]) -> str:
    cols = ", ".join(keys)
    match = " AND ".join(f"r.{k} = d.{k}" for k in keys)
    return f"""
    WITH dup AS (SELECT {cols} FROM {table} GROUP BY {cols} HAVING count(*) > 1),
    gone AS (DELETE FROM {table} r USING dup d WHERE {match} RETURNING r.*)
    INSERT INTO {table} ({cols}, invoices, amount)
    SELECT {cols}, sum(invoices), sum(amount) FROM gone GROUP BY {cols}
    HAVING sum(invoices) <> 0 OR sum(amount) <> 0
    """  # noqa: S608 - table and columns are the constants of ROLLUPS


def rollups_compact() -> int:
    """Fold every key that has several rows into one row (none when they sum to zero); returns the
    rows removed. Each table in one statement (one snapshot: a delta committed meanwhile is neither
    deleted nor summed, it stays as it is). Skipped when another compaction or a rebuild runs."""
    removed = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
        if not cursor.fetchone()[0]:
            return 0
        for table, keys in ROLLUPS.items():
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - constant
            before = cursor.fetchone()[0]
            cursor.execute(_compact_sql(table, keys))
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - constant
            removed += before - cursor.fetchone()[0]
    return removed


def rollups_pass(limit: int) -> int:
    """The notification worker loop's hook: at most once an hour, compact the rollups. Never
    raises (the worker's deliveries come first); returns 0 (no deliveries handled)."""
    now = time.monotonic()
    if _last_pass[0] and now - _last_pass[0] < PASS_INTERVAL_SECONDS:
        return 0
    _last_pass[0] = now
    try:
        removed = rollups_compact()
    except Exception:  # retried an hour later; readers sum the deltas meanwhile
        logger.exception("payables rollups could not be compacted")
        return 0
    if removed:
        logger.info("payables rollups compacted: %d rows folded", removed)
    return 0


Sums = dict[tuple[object, ...], tuple[int, Decimal]]


def _sums(cursor: CursorWrapper, sql: str) -> Sums:
    cursor.execute(sql)
    return {tuple(r[:-2]): (int(r[-2]), Decimal(r[-1])) for r in cursor.fetchall()}


def _rollup_sql(table: str, keys: tuple[str, ...]) -> str:
    cols = ", ".join(keys)
    return (
        f"SELECT {cols}, sum(invoices), sum(amount) FROM {table} GROUP BY {cols} "  # noqa: S608 - constants
        "HAVING sum(invoices) <> 0 OR sum(amount) <> 0"
    )


def _raw_sql(table: str, keys: tuple[str, ...]) -> str:
    return f"SELECT {', '.join(keys)}, invoices, amount FROM ({RAW_SQL}) g WHERE {RAW_SET[table]}"  # noqa: S608


def rollups_check() -> list[Difference]:
    """Every key where a rollup and the raw invoices disagree (empty: all agree). Read in one
    REPEATABLE READ transaction (one snapshot for both sides) unless already inside a transaction."""
    outer = connection.in_atomic_block
    differences: list[Difference] = []
    with transaction.atomic(), connection.cursor() as cursor:
        if not outer:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        for table, keys in ROLLUPS.items():
            rolled, raw = _sums(cursor, _rollup_sql(table, keys)), _sums(cursor, _raw_sql(table, keys))
            zero = (0, Decimal(0))
            for key in sorted(set(rolled) | set(raw), key=repr):
                if rolled.get(key, zero) != raw.get(key, zero):
                    differences.append(Difference(table, key, rolled.get(key, zero), raw.get(key, zero)))
    return differences


INSERT_RAW = (
    "i{i} AS (INSERT INTO {table} ({cols}, invoices, amount) SELECT {cols}, invoices, amount FROM g WHERE {where})"
)


def rollups_rebuild() -> None:
    """Replace every rollup row by the raw aggregate, in one statement (one snapshot: a change
    committed after it keeps its delta rows, which the statement neither deletes nor recounts)."""
    deletes = ", ".join(f"d{i} AS (DELETE FROM {table})" for i, table in enumerate(ROLLUPS))  # noqa: S608
    inserts = ", ".join(
        INSERT_RAW.format(i=i, table=table, cols=", ".join(keys), where=RAW_SET[table])
        for i, (table, keys) in enumerate(ROLLUPS.items())
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
        cursor.execute(f"WITH g AS ({RAW_SQL}), {deletes}, {inserts} SELECT 1")
