"""The audit log's monthly partitions (migration audit.0012; docs/audit.md "Partitions").

`audit` is partitioned by RANGE (occurred_at), one partition per UTC month named
`audit_yYYYYmMM`, and a DEFAULT partition `audit_default` so an insert never fails for want of
a partition. Months are created ahead by the SQL function `audit_ensure_partitions(n)` (the
current month and the next n), called by the migration, by `manage.py audit_partitions`, and
once an hour by the notification worker loop (`partitions_pass`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date

from django.db import connection, transaction

logger = logging.getLogger(__name__)

MONTHS_AHEAD = 3
DEFAULT_PARTITION = "audit_default"


@dataclass(frozen=True)
class Partition:
    name: str
    month: date | None  # None: the default partition
    rows: int  # estimate (pg_class.reltuples) unless counted


def ensure_partitions(months_ahead: int = MONTHS_AHEAD) -> list[str]:
    """Create the current UTC month's partition and the next `months_ahead` (0..36) where
    missing; returns the names created. Works as the runtime role (SECURITY DEFINER function)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT audit_ensure_partitions(%s)", [months_ahead])
        return [row[0] for row in cursor.fetchall()]


def absorb_default() -> list[str]:
    """Move the default partition's rows into their months' partitions (created now); returns
    the partitions filled. Owner only, in a maintenance window (ACCESS EXCLUSIVE on `audit`)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT audit_absorb_default()")
        return [row[0] for row in cursor.fetchall()]


def partitions(*, exact: bool = False) -> list[Partition]:
    """The attached partitions, oldest month first, the default partition last."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT p.relname, pg_get_expr(p.relpartbound, p.oid), GREATEST(p.reltuples, 0)::bigint
              FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhrelid
             WHERE i.inhparent = 'audit'::regclass ORDER BY p.relname
            """
        )
        rows = cursor.fetchall()
        result = []
        for name, bound, estimate in rows:
            month = None if bound == "DEFAULT" else partition_month(name)
            count = estimate
            if exact:
                cursor.execute(f'SELECT count(*) FROM "{name}"')  # noqa: S608 - name read from the catalogue
                count = cursor.fetchone()[0]
            result.append(Partition(name=name, month=month, rows=count))
    result.sort(key=lambda p: (p.month is None, p.month or date.min))
    return result


def partition_month(name: str) -> date | None:
    """`audit_y2026m12` → 2026-12-01."""
    if not name.startswith("audit_y") or len(name) != len("audit_y2026m12"):
        return None
    return date(int(name[7:11]), int(name[12:14]), 1)


def default_partition_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {DEFAULT_PARTITION}")  # noqa: S608 - constant
        return int(cursor.fetchone()[0])


_last_pass = [0.0]
PASS_INTERVAL_SECONDS = 3600


def partitions_pass(limit: int) -> int:
    """The notification worker loop's hook: at most once an hour, make sure the coming months
    have their partitions. Never raises (the worker's deliveries come first); returns 0 (no
    deliveries handled)."""
    now = time.monotonic()
    if _last_pass[0] and now - _last_pass[0] < PASS_INTERVAL_SECONDS:
        return 0
    _last_pass[0] = now
    try:
        made = ensure_partitions()
    except Exception:  # a failed attempt is retried an hour later; the default partition catches rows
        logger.exception("audit partitions could not be created")
        return 0
    if made:
        logger.info("audit partitions created: %s", ", ".join(made))
    return 0
