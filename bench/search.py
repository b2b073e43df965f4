"""Search benchmark (issue 12): "cong ty sao mai" over 100,000 invoices. Prints figures; asserts
only that the right invoices are found.

    createdb -h 127.0.0.1 -U postgres search_scratch
    PGURI=postgres://postgres@127.0.0.1:5432/search_scratch .venv/bin/python bench/search.py [--runs 20]

Migrates the database PGURI names and seeds (once; `--reseed` to start over) 100,000 invoices from
2,000 Vietnamese suppliers ("CÔNG TY TNHH …", "CÔNG TY CỔ PHẦN …", "HỘ KINH DOANH …" with trade
words and names, SAO MAI and look-alikes such as SAO KHUÊ, MAI LINH, HỘ KINH DOANH SAO MAI among
them) with one `INSERT … SELECT generate_series` (triggers off for the seed only). Then, for a few
queries, prints median / p95 / max in milliseconds of: the selector alone (count + first page),
the API list endpoint (in-process client, token auth, middleware, JSON) and the admin changelist
search (session, full HTML page); the same selector with bitmap scans disabled (what the query
costs without the trigram index); the CPU time one API call uses (client process and database
server processes, read from /proc: a load-independent estimate); and the EXPLAIN (ANALYZE) lines
of the API's count and page queries.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import unicodedata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "acountee.settings")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("LOG_LEVEL", "ERROR")

N_INVOICES, N_SUPPLIERS = 100_000, 2_000
QUERIES = ["cong ty sao mai", "sao mai", "dich vu ky thuat sao mai", "0312", "hoang long xay dung"]

FORMS = [
    "CÔNG TY TNHH",
    "CÔNG TY CỔ PHẦN",
    "CÔNG TY TNHH MTV",
    "CÔNG TY TNHH MỘT THÀNH VIÊN",
    "DOANH NGHIỆP TƯ NHÂN",
    "HỘ KINH DOANH",
    "CHI NHÁNH CÔNG TY CỔ PHẦN",
]
TRADES = [
    "DỊCH VỤ KỸ THUẬT",
    "THƯƠNG MẠI",
    "THƯƠNG MẠI VÀ DỊCH VỤ",
    "XÂY DỰNG",
    "VẬN TẢI",
    "ĐẦU TƯ",
    "CÔNG NGHỆ",
    "SẢN XUẤT",
    "THIẾT BỊ ĐIỆN",
    "IN ẤN",
    "DU LỊCH",
    "THỰC PHẨM",
    "VIỄN THÔNG",
    "TƯ VẤN",
    "CƠ KHÍ",
    "",
]
NAMES = [
    "SAO KHUÊ",
    "MAI LINH",
    "HOÀNG LONG",
    "MINH PHÁT",
    "ĐẠI VIỆT",
    "PHƯƠNG NAM",
    "THÀNH ĐẠT",
    "AN PHÚ",
    "HƯNG THỊNH",
    "BÌNH MINH",
    "ĐÔNG Á",
    "HOÀNG MAI",
    "SAO VIỆT",
    "NAM SAO",
    "TRƯỜNG SƠN",
    "PHÚ THÁI",
    "TÂN CẢNG",
    "HẢI ĐĂNG",
    "KIM LONG",
    "ÁNH DƯƠNG",
    "THIÊN PHÚC",
    "VẠN XUÂN",
    "LẠC HỒNG",
    "ĐỨC HUY",
    "QUANG TRUNG",
]
PLACES = ["", "", "HÀ NỘI", "SÀI GÒN", "ĐÀ NẴNG", "CẦN THƠ", "AN GIANG", "HẢI PHÒNG"]
SAO_MAI = [
    "CÔNG TY TNHH DỊCH VỤ KỸ THUẬT SAO MAI",
    "CÔNG TY CỔ PHẦN SAO MAI",
    "HỘ KINH DOANH SAO MAI",
    "CÔNG TY TNHH MTV DU LỊCH SAO MAI AN GIANG",
    "CÔNG TY TNHH THƯƠNG MẠI MAI SAO",
]

SEED_SQL = """
SET session_replication_role = replica;
TRUNCATE pr_invoice, invoices RESTART IDENTITY CASCADE;
INSERT INTO invoices (id, schema_version, title, template_code, series, number, number_int, issue_date, currency,
  exchange_rate, payment_method_text, issuer_tax_code, tax_authority_code, related_template_code, related_series,
  related_number, related_note, seller_name, seller_tax_code, seller_address, seller_bank_account, seller_bank_name,
  seller_phone, seller_email, buyer_name, buyer_tax_code, buyer_address, total_before_tax, total_tax, trade_discount,
  other_fees, total_payable, total_in_words, rate_summaries, extras, status, content_hash, buyer_tax_code_mismatch,
  superseded_while_linked, payment_type, payment_bank_name, payment_bank_account, payment_account_name, created_at,
  updated_at, source_file_id)
SELECT g, '2.0.1', 'HÓA ĐƠN GIÁ TRỊ GIA TĂNG', '1', 'C25T' || chr(65 + g % 26) || chr(65 + g / 26 % 26),
  lpad(g::text, 8, '0'), g, date '2025-01-01' + (g * 7919 % 700), 'VND', 1, '', '',
  upper(md5('mccqt' || g)), '', '', '', '', s.name, s.tax_code, '', '', '', '', '',
  'CÔNG TY TNHH ACOUNTEE', '0100000000', '', (g % 997 + 1) * 100000, (g % 997 + 1) * 10000, 0, 0,
  (g % 997 + 1) * 110000, '', '[]', jsonb_build_object(), 'imported', md5(g::text) || md5('x' || g), false, false,
  '', '', '', '', now(), now(), {file}
FROM generate_series(1, {invoices}) g JOIN bench_suppliers s ON s.id = g % {suppliers};
SET session_replication_role = origin;
SELECT setval(pg_get_serial_sequence('invoices', 'id'), {invoices});
"""


def fold(text: str) -> str:
    """Python twin of acountee_fold() for checking results (Vietnamese only needs these rules)."""
    text = text.replace("Đ", "D").replace("đ", "d")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)).lower()


def suppliers() -> list[tuple[int, str, str]]:
    rng = random.Random(12)  # noqa: S311 - reproducible data, not secrets
    names: set[str] = set(SAO_MAI)
    while len(names) < N_SUPPLIERS:
        parts = [rng.choice(FORMS), rng.choice(TRADES), rng.choice(NAMES), rng.choice(PLACES)]
        names.add(" ".join(part for part in parts if part))
    ordered = sorted(names - set(SAO_MAI))
    rng.shuffle(ordered)
    ordered[7:7] = SAO_MAI  # spread over the ids like any other supplier
    return [(i, name, f"03{rng.randrange(10**8):08d}") for i, name in enumerate(ordered)]


def setup_django() -> None:
    if not os.environ.get("PGURI"):
        sys.exit("Set PGURI to a database of your own (see the docstring).")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def seed(force: bool) -> None:
    from django.db import connection

    from invoices.models import Invoice
    from tests.files.factories import stored_file

    if not force and Invoice.objects.count() >= N_INVOICES:
        print(f"reusing the seeded data ({Invoice.objects.count()} invoices)")
        return
    file = stored_file(content=b"<HDon>search bench</HDon>")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_suppliers")
        cursor.execute("CREATE UNLOGGED TABLE bench_suppliers (id int PRIMARY KEY, name text, tax_code text)")
        cursor.executemany("INSERT INTO bench_suppliers VALUES (%s, %s, %s)", suppliers())
        cursor.execute(SEED_SQL.format(file=file.pk, invoices=N_INVOICES, suppliers=N_SUPPLIERS))
        cursor.execute("DROP TABLE bench_suppliers")
        cursor.execute("VACUUM ANALYZE invoices")
    print(f"seeded {N_INVOICES} invoices in {time.perf_counter() - started:.1f} s (trigram index built on insert)")


def expected_ids(query: str) -> set[int]:
    from invoices.models import Invoice
    from invoices.selectors import INVOICE_SEARCH_FIELDS

    terms = [fold(term) for term in query.split()]
    found = set()
    for row in Invoice.objects.values_list("id", *INVOICE_SEARCH_FIELDS).iterator(chunk_size=10_000):
        document = fold("\n".join(row[1:]))
        if all(term in document for term in terms):
            found.add(row[0])
    return found


def timed(fn: Any, runs: int) -> tuple[float, float, float]:
    fn()  # warm-up (connection, caches)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95, times[-1]


def backend_cpu_ms() -> dict[int, float]:
    """CPU time used so far by each server process on this database (from /proc: the local
    server runs on this machine), to tell work from waiting for a core on a loaded machine."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        pids = [row[0] for row in cursor.fetchall()]
    ticks, used = os.sysconf("SC_CLK_TCK"), {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) * 1000 / ticks  # utime + stime
    return used


def cpu_per_call(fn: Any, runs: int) -> float:
    """Milliseconds of CPU (this process + the database's server processes) per call."""
    fn()
    before_db, before_py = backend_cpu_ms(), time.process_time()
    for _ in range(runs):
        fn()
    after_py, after_db = time.process_time(), backend_cpu_ms()
    db = sum(value - before_db.get(pid, 0.0) for pid, value in after_db.items())
    return ((after_py - before_py) * 1000 + db) / runs


def measure(runs: int) -> None:
    from django.db import connection, transaction
    from django.test import Client
    from rest_framework.test import APIClient

    from accounts.models import Role, User, UserRole
    from accounts.services import api_token_create
    from invoices.models import Invoice
    from invoices.selectors import invoice_list

    user, created = User.objects.get_or_create(email="bench-search@acountee.test", defaults={"name": "Bench"})
    if created:
        user.set_unusable_password()
        user.save()
        UserRole.objects.get_or_create(user=user, role=Role.objects.get(name="finance"))
    _token, key = api_token_create(user=user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    admin = Client()
    admin.force_login(user)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE invoices")  # what autovacuum would have done by now (new column, reseed)

    print(
        f"data: {Invoice.objects.count()} invoices; PostgreSQL {connection.pg_version // 10000}; "
        f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(f"{'query':<28} {'found':>6} {'selector ms':>16} {'API ms':>18} {'admin ms':>18} {'no index ms':>12}")
    print(f"{'':<28} {'':>6} {'median/p95':>16} {'median/p95/max':>18} {'median/p95/max':>18} {'median':>12}")
    api_plain = timed(lambda: api.get("/api/invoices/"), runs)
    admin_plain = timed(lambda: admin.get("/admin/invoices/invoice/"), runs)
    print(
        f"{'(no q: first page)':<28} {'':>6} {'':>16} {api_plain[0]:>6.1f}/{api_plain[1]:>5.1f}/{api_plain[2]:>5.1f} "
        f"{admin_plain[0]:>6.1f}/{admin_plain[1]:>5.1f}/{admin_plain[2]:>5.1f}"
    )
    cpu: dict[str, float] = {}
    for query in QUERIES:
        expected = expected_ids(query)
        response = api.get("/api/invoices/", {"q": query, "page_size": 1000})
        assert response.status_code == 200, response.content[:300]
        got = {row["id"] for row in response.json()["results"]}
        assert response.json()["count"] == len(expected), query
        assert got <= expected and len(got) == min(len(expected), len(response.json()["results"])), query

        def selector(q: str = query) -> None:
            qs = invoice_list(filters={"q": q})
            qs.count()
            list(qs[:50])

        def api_call(q: str = query) -> None:
            assert api.get("/api/invoices/", {"q": q}).status_code == 200

        def admin_call(q: str = query) -> None:
            assert admin.get("/admin/invoices/invoice/", {"q": q}).status_code == 200

        def without_index(q: str = query) -> None:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_bitmapscan = off")
                selector(q)

        sel, api_t, adm_t = timed(selector, runs), timed(api_call, runs), timed(admin_call, runs)
        cpu[query] = cpu_per_call(api_call, runs)
        seq = timed(without_index, max(3, runs // 5))
        print(
            f"{query:<28} {len(expected):>6} {sel[0]:>8.1f}/{sel[1]:>7.1f} "
            f"{api_t[0]:>6.1f}/{api_t[1]:>5.1f}/{api_t[2]:>5.1f} {adm_t[0]:>6.1f}/{adm_t[1]:>5.1f}/{adm_t[2]:>5.1f} "
            f"{seq[0]:>12.1f}"
        )
    print("CPU per API call (this process + database server processes; what an idle machine's")
    print("latency would be, roughly): " + ", ".join(f"{q!r} {ms:.1f} ms" for q, ms in cpu.items()))
    explain(QUERIES[0])
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def explain(query: str) -> None:
    """The two queries behind one API page: the count (served by the trigram index) and the
    page itself, where the planner may rather walk the issue-date index and filter the stored
    document until it has 50 rows (cheap per row since the document is stored, right when many
    rows match)."""
    from django.db import connection

    from invoices.selectors import invoice_list

    queryset = invoice_list(filters={"q": query})
    for label, sql_query in (("count", queryset.order_by().values("id").query), ("page", queryset[:50].query)):
        sql, params = sql_query.sql_with_params()
        if label == "count":
            sql = f"SELECT count(*) FROM ({sql}) AS page"  # noqa: S608 - Django's own SQL
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            lines = [row[0] for row in cursor.fetchall()]
        print(f"EXPLAIN ANALYZE of the {label} query for {query!r} (main nodes):")
        for line in lines:
            if any(word in line for word in ("on invoices ", "Recheck", "Removed by", "Limit", "Sort ", "Execution")):
                print("   " + line.strip()[:140])
        if label == "count":
            assert any("invoices_search_document_trgm" in line for line in lines), "the trigram index is not used"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    setup_django()
    seed(args.reseed)
    measure(args.runs)


if __name__ == "__main__":
    main()
