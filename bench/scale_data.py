# ruff: noqa: S608  (SQL built from fixed table names and integers only)
"""The data set of `bench/scale.py`: a template written by the real services, multiplied inside PostgreSQL.

Method (docs/performance.md says the same):

1. A template database is migrated and `manage.py seed_demo` runs in it: every row there was written by the
   application's own services (29 invoices imported from XML, 10 PRs in every state with their chains, approval
   records, preparers, attachments, links), and its audit log by the triggers and the services.
2. Each size's database is a copy of the template (`CREATE DATABASE … TEMPLATE`), then the template's rows are
   copied K times with `INSERT … SELECT … FROM <table> CROSS JOIN generate_series(k0, k1)` inside PostgreSQL, in
   transactions of a few thousand invoices, **with every trigger enabled**: the audit trigger
   (`audit_row_change`) writes one INSERT entry per copied row with its checksum, the audit table's own trigger
   checksums the copied semantic entries, and every transaction is sealed into the hash chain at commit, exactly
   as for the application's own transactions.
3. In copy k every id is shifted into a fresh range (`base + (k-1)·span + (id - min)`, foreign keys between
   copied tables follow, users, flows, payment methods and the invoices' source files are shared), dates and
   timestamps move back by up to ten years (copies spread evenly over 3,650 days), the invoice's business key,
   content hash and MCCQT are made unique, the seller is one of 2,000 suppliers with Vietnamese names, and each
   invoice's lines are copied three times (≈ 10.6 lines per invoice). PR copies are interleaved with invoice
   copies (PR copy k links invoice copy j(k), shifted by the same number of days). Copies older than 30 days
   keep only the template's drafts and completed PRs (nobody leaves a PR pending for years): pending and
   approved PRs are those of the last month, as in a real back office.
4. The semantic entries of the template (`import`, `create_pr`, `request_approval`, `approve`, `complete`, …) are
   copied for each copy with their record id re-pointed (their metadata still names the template's ids).

Not replayed: the template's UPDATE/DELETE history (a copy arrives in its final state with one INSERT entry per
row), notifications, events and webhook deliveries.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
INVOICES_PER_PR = 5  # at most one PR per 5 invoices (≈ 1.7k / 17k / 175k PRs: one PR copy per invoice copy)
LINE_COPIES = 3
DAYS = 3650
SUPPLIERS = 2000
# PRs are not left waiting for years: copies older than this many days keep only the template's drafts and
# completed PRs (with everything that belongs to them); newer copies keep every state.
OPEN_WINDOW_DAYS = 30
OLD_STATES = ("draft", "completed")

# Tables copied per invoice copy and per PR copy, parents first.
INVOICE_TABLES = ["invoices", "invoice_services"]
PR_TABLES = [
    "approval",
    "approval_steps",
    "approval_step_users",
    "approval_records",
    "pr",
    "pr_invoice",
    "pr_preparers",
    "pr_attachments",
]
# Foreign keys between copied tables (the others point at shared rows and stay as they are).
REMAP = {
    "invoices": {"id": "invoices", "original_id": "invoices"},
    "invoice_services": {"id": "invoice_services", "invoice_id": "invoices"},
    "approval": {"id": "approval"},
    "approval_steps": {"id": "approval_steps", "approval_id": "approval"},
    "approval_step_users": {"id": "approval_step_users", "step_id": "approval_steps"},
    "approval_records": {"id": "approval_records", "approval_id": "approval", "step_id": "approval_steps"},
    "pr": {"id": "pr", "approval_id": "approval"},
    "pr_invoice": {"id": "pr_invoice", "pr_id": "pr", "invoice_id": "invoices"},
    "pr_preparers": {"id": "pr_preparers", "pr_id": "pr"},
    "pr_attachments": {"id": "pr_attachments", "pr_id": "pr"},
}
FIRST = ["AN", "BÌNH", "CƯỜNG", "ĐẠI", "ĐÔNG", "GIA", "HẢI", "HÒA", "HOÀNG", "HƯNG", "KHANG", "KIM", "LẠC",
         "LONG", "MINH", "NAM", "NGỌC", "NHẬT", "PHÁT", "PHÚ", "PHƯƠNG", "QUANG", "SÀI", "SAO", "SƠN", "TÂN",
         "THÀNH", "THĂNG", "THIÊN", "THỊNH", "TIẾN", "TOÀN", "TRƯỜNG", "TÙNG", "VẠN", "VIỆT", "VĨNH", "XUÂN",
         "YÊN", "ÁNH"]  # fmt: skip
TRADE = ["VẬT TƯ", "XÂY DỰNG", "THƯƠNG MẠI", "DỊCH VỤ", "VẬN TẢI", "PHẦN MỀM", "THIẾT BỊ", "ĐIỆN", "NƯỚC",
         "IN ẤN", "BAO BÌ", "HÓA CHẤT", "THỰC PHẨM", "NỘI THẤT", "VĂN PHÒNG PHẨM", "CƠ KHÍ", "MÔI TRƯỜNG",
         "VIỄN THÔNG", "KỸ THUẬT", "TƯ VẤN", "KẾ TOÁN", "LOGISTICS", "DƯỢC PHẨM", "Y TẾ", "NÔNG SẢN", "THÉP",
         "GỖ", "NHỰA", "DẦU KHÍ", "NĂNG LƯỢNG", "QUẢNG CÁO", "TRUYỀN THÔNG", "GIÁO DỤC", "DU LỊCH", "KHÁCH SẠN",
         "BẢO VỆ", "VỆ SINH", "CÂY XANH", "ĐIỆN TỬ", "MAY MẶC", "GIẤY", "XI MĂNG", "GẠCH", "SƠN", "KÍNH",
         "ÔTÔ", "XE MÁY", "THỦY SẢN", "CÀ PHÊ", "CAO SU"]  # fmt: skip


@dataclass
class Span:
    base: int
    span: int
    low: int

    def sql(self, column: str, copy: str) -> str:
        return f"({self.base} + ({copy} - 1) * {self.span} + ({column} - {self.low}))"


def _columns(cursor: Any, table: str) -> list[tuple[str, str]]:
    cursor.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = %s::regclass"
        " AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
        [table],
    )
    return list(cursor.fetchall())


def _names(cols: list[tuple[str, str]]) -> str:
    return ", ".join(f'"{name}"' for name, _expr in cols)


def _spans(cursor: Any, tables: list[str]) -> dict[str, Span]:
    """Where each table's copies go: after the template's ids, one `span` of ids per copy."""
    spans = {}
    for table in tables:
        cursor.execute(f"SELECT min(id), max(id) FROM tpl_{table}")
        low, high = cursor.fetchone()
        if low is None:
            low = high = 0
        span = high - low + 1
        if table == "invoice_services":
            span *= LINE_COPIES
        spans[table] = Span(base=high + 1, span=span, low=low)
    return spans


def _select(cursor: Any, table: str, spans: dict[str, Span], copy: str, shift: str, line: str = "0") -> str:
    """The SELECT list that turns a template row (alias t) into its copy `copy` (a SQL expression)."""
    out = []
    remap = REMAP[table]
    for name, kind in _columns(cursor, table):
        col = f't."{name}"'
        if name in remap:
            target = spans[remap[name]]
            if table == "invoice_services" and name == "id":
                expr = f"({target.base} + (({copy} - 1) * {LINE_COPIES} + {line}) * {target.span // LINE_COPIES}"
                expr += f" + ({col} - {target.low}))"
            else:
                expr = target.sql(col, copy)
        elif table == "invoices" and name == "number_int":
            expr = f"{col} + {copy}::bigint * 100000"
        elif table == "invoices" and name == "number":
            expr = f"({col}::bigint + {copy}::bigint * 100000)::text"
        elif table == "invoices" and name == "content_hash":
            expr = f"encode(sha256(convert_to({col} || ':' || {copy}, 'UTF8')), 'hex')"
        elif table == "invoices" and name == "tax_authority_code":
            expr = f"CASE WHEN {col} = '' THEN '' ELSE upper(left(md5({col} || ':' || {copy}) || md5({copy} || {col}),"
            expr += f" length({col}))) END"
        elif table == "invoices" and name == "seller_tax_code":
            expr = "(3000000000 + sup.n)::text"
        elif table == "invoices" and name == "seller_name":
            expr = "sup.name"
        elif table == "invoice_services" and name in {"position", "line_number"}:
            expr = f"{col} + {line} * 1000" if name == "position" else f"{col} + {line} * 100"
        elif kind in {"date", "timestamp with time zone"}:
            expr = f"{col} - ({shift}) * interval '1 day'"
            if kind == "date":
                expr = f"({expr})::date"
        else:
            expr = col
        out.append((name, expr))
    return out


def build(connection: Any, invoices: int, log: Any = print, phase: str = "all") -> dict[str, Any]:
    """Multiply the template already in `connection`'s database up to `invoices` invoices.

    `phase` "invoices" or "prs" runs one half only (two processes can then build one database side by side:
    the PR copies go only as far as the invoice copies already committed)."""
    from django.db import transaction

    with connection.cursor() as cursor:
        for table in INVOICE_TABLES + PR_TABLES:
            cursor.execute(f"CREATE TABLE IF NOT EXISTS tpl_{table} AS TABLE {table}")
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS tpl_audit AS SELECT * FROM audit"
            " WHERE action NOT IN ('INSERT', 'UPDATE', 'DELETE') AND table_name IN ('pr', 'invoices')"
        )
        cursor.execute("SELECT count(*) FROM tpl_invoices")
        per_copy = cursor.fetchone()[0]
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS tpl_old AS"
            " WITH p AS (SELECT id, approval_id FROM tpl_pr WHERE status = ANY(%s)),"
            " s AS (SELECT id FROM tpl_approval_steps WHERE approval_id IN (SELECT approval_id FROM p))"
            " SELECT 'pr' AS tbl, id FROM p UNION ALL SELECT 'approval', approval_id FROM p"
            " UNION ALL SELECT 'approval_steps', id FROM s"
            " UNION ALL SELECT 'approval_step_users', id FROM tpl_approval_step_users"
            "  WHERE step_id IN (SELECT id FROM s)"
            " UNION ALL SELECT 'approval_records', id FROM tpl_approval_records"
            "  WHERE approval_id IN (SELECT approval_id FROM p)"
            " UNION ALL SELECT t, x.id FROM (SELECT 'pr_invoice' AS t, id, pr_id FROM tpl_pr_invoice UNION ALL"
            "  SELECT 'pr_preparers', id, pr_id FROM tpl_pr_preparers UNION ALL"
            "  SELECT 'pr_attachments', id, pr_id FROM tpl_pr_attachments) x WHERE x.pr_id IN (SELECT id FROM p)",
            [list(OLD_STATES)],
        )
        cursor.execute("SELECT count(*) FROM tpl_old WHERE tbl = 'pr'")
        prs_per_copy = cursor.fetchone()[0]  # in almost every copy (the old ones)
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS scale_progress (kind text PRIMARY KEY, copies int NOT NULL, seconds float)"
        )
        cursor.execute("SELECT kind, copies FROM scale_progress")
        done = dict(cursor.fetchall())
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS scale_suppliers (n int PRIMARY KEY, name text NOT NULL);"
            " INSERT INTO scale_suppliers SELECT g, 'CÔNG TY TNHH ' || (%s::text[])[g %% 40 + 1] || ' '"
            " || (%s::text[])[g / 40 %% 50 + 1] FROM generate_series(0, %s - 1) g ON CONFLICT DO NOTHING",
            [FIRST, TRADE, SUPPLIERS],
        )
    k_inv = -(-invoices // per_copy)
    k_pr = min(k_inv, max(1, invoices // INVOICES_PER_PR // prs_per_copy))
    started = time.perf_counter()
    inv_shift = f"(({{k}} - 1)::bigint * {DAYS} / {k_inv})"
    batch = max(1, 5000 // per_copy)
    with connection.cursor() as cursor:
        spans = _spans(cursor, INVOICE_TABLES)
    k = done.get("invoices", 0) + 1
    while k <= k_inv and phase in {"all", "invoices"}:
        k1 = min(k_inv, k + batch - 1)
        batch_started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('acountee.actor', 'system:bench-scale', true)")
            shift = inv_shift.format(k="g.k")
            cols = _select(cursor, "invoices", spans, "g.k", shift)
            cursor.execute(
                f"INSERT INTO invoices ({_names(cols)}) SELECT"
                f" {', '.join(e for _, e in cols)} FROM generate_series({k}, {k1}) AS g(k) CROSS JOIN tpl_invoices t"
                f" JOIN scale_suppliers sup ON sup.n = ((g.k - 1) * {per_copy} + t.id) % {SUPPLIERS}"
                " ORDER BY g.k, t.id"
            )
            cols = _select(cursor, "invoice_services", spans, "g.k", shift, line="r.r")
            cursor.execute(
                f"INSERT INTO invoice_services ({_names(cols)}) SELECT"
                f" {', '.join(e for _, e in cols)} FROM generate_series({k}, {k1}) AS g(k)"
                f" CROSS JOIN generate_series(0, {LINE_COPIES - 1}) AS r(r) CROSS JOIN tpl_invoice_services t"
                " ORDER BY g.k, t.invoice_id, r.r, t.position"
            )
            inv = spans["invoices"]
            cursor.execute(
                "INSERT INTO audit (action, table_name, record_id, actor, actor_user_id, ip, user_agent, metadata,"
                " occurred_at) SELECT t.action, t.table_name,"
                f" CASE WHEN t.record_id ~ '^[0-9]+$' THEN {inv.sql('t.record_id::bigint', 'g.k')}::text ELSE ''"
                " END, t.actor, t.actor_user_id, t.ip, t.user_agent, t.metadata,"
                f" t.occurred_at - {shift} * interval '1 day'"
                f" FROM generate_series({k}, {k1}) AS g(k) CROSS JOIN tpl_audit t WHERE t.table_name = 'invoices'"
                " ORDER BY g.k, t.id"
            )
            cursor.execute(
                "INSERT INTO scale_progress VALUES ('invoices', %s, %s) ON CONFLICT (kind) DO UPDATE"
                " SET copies = EXCLUDED.copies, seconds = COALESCE(scale_progress.seconds, 0) + EXCLUDED.seconds",
                [k1, time.perf_counter() - batch_started],
            )
        log(f"  invoices: copy {k1}/{k_inv} ({k1 * per_copy:,} invoices) {time.perf_counter() - started:.0f} s")
        k = k1 + 1
    with connection.cursor() as cursor:
        spans.update(_spans(cursor, PR_TABLES))
    # PR copy k goes with invoice copy j(k): spread over the ten years, same shift.
    j = f"((({{k}} - 1)::bigint * {k_inv}) / {k_pr} + 1)"
    batch = max(1, 2000 // prs_per_copy)
    k = done.get("prs", 0) + 1
    last_pr = k_pr if phase == "all" else min(k_pr, done.get("invoices", 0) if phase == "prs" else 0)
    while k <= last_pr:
        k1 = min(last_pr, k + batch - 1)
        batch_started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('acountee.actor', 'system:bench-scale', true)")
            shift = inv_shift.format(k=j.format(k="g.k"))
            for table in PR_TABLES:
                cols = _select(cursor, table, spans, "g.k", shift)
                if table == "pr_invoice":
                    cols = [
                        (c, spans["invoices"].sql('t."invoice_id"', j.format(k="g.k")) if c == "invoice_id" else e)
                        for c, e in cols
                    ]
                cursor.execute(
                    f"INSERT INTO {table} ({_names(cols)}) SELECT"
                    f" {', '.join(e for _, e in cols)} FROM generate_series({k}, {k1}) AS g(k)"
                    f" CROSS JOIN tpl_{table} t WHERE {shift} <= {OPEN_WINDOW_DAYS}"
                    f" OR t.id IN (SELECT id FROM tpl_old WHERE tbl = '{table}') ORDER BY g.k, t.id"
                )
            pr = spans["pr"]
            cursor.execute(
                "INSERT INTO audit (action, table_name, record_id, actor, actor_user_id, ip, user_agent, metadata,"
                f" occurred_at) SELECT t.action, t.table_name, {pr.sql('t.record_id::bigint', 'g.k')}::text,"
                " t.actor, t.actor_user_id, t.ip, t.user_agent, t.metadata,"
                f" t.occurred_at - {shift} * interval '1 day'"
                f" FROM generate_series({k}, {k1}) AS g(k) CROSS JOIN tpl_audit t"
                " WHERE t.table_name = 'pr' AND t.record_id ~ '^[0-9]+$'"
                f" AND ({shift} <= {OPEN_WINDOW_DAYS}"
                " OR t.record_id::bigint IN (SELECT id FROM tpl_old WHERE tbl = 'pr'))"
                " ORDER BY g.k, t.id"
            )
            cursor.execute(
                "INSERT INTO scale_progress VALUES ('prs', %s, %s) ON CONFLICT (kind) DO UPDATE"
                " SET copies = EXCLUDED.copies, seconds = COALESCE(scale_progress.seconds, 0) + EXCLUDED.seconds",
                [k1, time.perf_counter() - batch_started],
            )
        log(f"  PRs: copy {k1}/{k_pr} ({k1 * prs_per_copy:,} PRs) {time.perf_counter() - started:.0f} s")
        k = k1 + 1
    with connection.cursor() as cursor:
        for table in INVOICE_TABLES + PR_TABLES:  # not audit: its ids always come from nextval
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    return {"seconds": time.perf_counter() - started, "invoice_copies": k_inv, "pr_copies": k_pr}
