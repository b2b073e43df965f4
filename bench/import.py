"""Invoice import benchmark (issue 5 acceptance).

Generates a ZIP of N realistic invoices (1-20 lines, mixed tax rates), imports it through
`invoices.services.invoices_import` (audit triggers and constraints on), imports it again
(everything must be skipped), and loads the very same rows with PostgreSQL `COPY` into
scratch copies of the tables (same indexes, constraints and audit trigger) as the physical
floor. Prints invoices/s, lines/s, peak memory growth and the ratio to the floor.

Run against your own database (the rows stay there):

    PGURI=postgres://postgres@127.0.0.1:5432/acountee_bench .venv/bin/python bench/import.py [--count 10000]

The database is migrated first. DEBUG is forced off (Django keeps every statement in DEBUG).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import resource
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "acountee.settings")
os.environ["DEBUG"] = "false"


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=None, help="invoice numbers start here (default: random)")
    parser.add_argument(
        "--unsigned", action="store_true", help="leave the invoices unsigned (default: each signed by its seller)"
    )
    args = parser.parse_args()
    if not os.environ.get("PGURI"):
        sys.exit("Set PGURI to a database of your own (the benchmark leaves its rows there).")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count

    from invoices.models import Invoice, InvoiceService
    from invoices.sample_signing import ThrowawayCA, sign_invoice
    from invoices.samples import SELLERS, make_invoice
    from invoices.services import invoices_import

    call_command("migrate", verbosity=0)
    start = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**7) * 100_000
    series = f"C26B{random.SystemRandom().randrange(10, 99)}"
    lines = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "invoices.zip"
        started = time.perf_counter()
        signers = {}
        if not args.unsigned:  # a throwaway CA, one key per seller: verification does real work
            ca = ThrowawayCA.create()
            signers = {seller[0]: ca.issue(tax_code=seller[0].split("-")[0]) for seller in SELLERS}
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for number in range(start, start + args.count):
                sample = make_invoice(number, series=series, rng=random.Random(number))  # noqa: S311
                lines += sample.lines
                content = sample.content
                if signers:
                    content = sign_invoice(content, signers[sample.name.split("_")[0]])
                archive.writestr(sample.name, content)
        print(
            f"generated {args.count:,} {'unsigned' if args.unsigned else 'signed'} invoices ({lines:,} lines),"
            f" ZIP {path.stat().st_size / 1e6:.1f} MB"
            f" in {time.perf_counter() - started:.1f} s"
        )
        before_invoices = Invoice.objects.count()
        before_lines = InvoiceService.objects.count()

        base_rss = rss_mb()
        with open(path, "rb") as upload:
            started = time.perf_counter()
            report = invoices_import(uploads=[("invoices.zip", upload)], actor=None)
            elapsed = time.perf_counter() - started
        growth = peak_mb() - base_rss
        counts = report.counts()
        inserted = Invoice.objects.count() - before_invoices
        inserted_lines = InvoiceService.objects.count() - before_lines
        print(f"import:    {counts}  inserted {inserted:,} invoices, {inserted_lines:,} lines")
        print(
            f"           {elapsed:.2f} s = {inserted / elapsed:,.0f} invoices/s,"
            f" {inserted_lines / elapsed:,.0f} lines/s"
        )
        print(f"           peak RSS growth {growth:.0f} MB (base {base_rss:.0f} MB)")
        outcomes = dict(
            Invoice.objects.filter(series=series)
            .values_list("seller_signature")
            .annotate(n=Count("id"))
            .values_list("seller_signature", "n")
        )
        print(f"           seller signatures: {outcomes}")
        print(f"           signature verification alone: {verification_cost(path):.2f} ms per invoice (one thread)")

        with open(path, "rb") as upload:
            started = time.perf_counter()
            again = invoices_import(uploads=[("invoices.zip", upload)], actor=None)
            elapsed_again = time.perf_counter() - started
        print(
            f"re-import: {again.counts()}  {elapsed_again:.2f} s = {args.count / elapsed_again:,.0f} entries/s"
            f"  (inserted {Invoice.objects.count() - before_invoices - inserted} more)"
        )
        print(f"           peak RSS growth {peak_mb() - base_rss:.0f} MB")

    floor = copy_floor(connection, series)
    print(
        f"COPY floor: {floor:.2f} s for the same rows (files, invoices, lines; indexes, constraints and audit"
        f" triggers on) = {inserted / floor:,.0f} invoices/s; import / floor = {elapsed / floor:.2f}x"
    )


def verification_cost(path: Path, sample: int = 500) -> float:
    """invoices.signatures.verify_signatures on the first `sample` invoices of the ZIP, in ms per invoice."""
    from invoices.parser import parse_invoice
    from invoices.signatures import verify_signatures

    with zipfile.ZipFile(path) as archive:
        contents = [archive.read(name) for name in archive.namelist()[:sample]]
    parsed = [parse_invoice(content) for content in contents]
    started = time.perf_counter()
    for content, invoice in zip(contents, parsed, strict=True):
        verify_signatures(content, seller_tax_code=invoice.seller.tax_code, issue_date=invoice.issue_date)
    return (time.perf_counter() - started) / len(contents) * 1000


def stored_columns(cursor, table: str) -> list[str]:
    """The table's columns that hold data (not dropped, not generated), in table order."""
    cursor.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
        " AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
        [f"public.{table}"],
    )
    return [name for (name,) in cursor.fetchall()]


def copy_floor(connection, series: str) -> float:
    """The same rows, exported from the tables and re-loaded with COPY into scratch copies."""
    from django.db import transaction

    from audit.operations import trigger_sql

    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA IF EXISTS bench_floor CASCADE; CREATE SCHEMA bench_floor")
        for table in ("files", "invoices", "invoice_services"):
            cursor.execute(f"CREATE TABLE bench_floor.{table} (LIKE public.{table} INCLUDING ALL)")
        cursor.execute(trigger_sql("bench_floor.files".replace(".", '"."'), ("content",)))
        cursor.execute(trigger_sql('bench_floor"."invoices'))
        cursor.execute(trigger_sql('bench_floor"."invoice_services'))
        # Generated columns (invoices.search_document) are computed by PostgreSQL: COPY FROM refuses
        # values for them ("extra data after last expected column"), so both sides name the stored columns.
        columns = {table: stored_columns(cursor, table) for table in ("files", "invoices", "invoice_services")}
        exports = {}
        queries = {
            "files": "SELECT {cols} FROM files f JOIN invoices i ON i.source_file_id = f.id WHERE i.series = %s",
            "invoices": "SELECT {cols} FROM invoices i WHERE i.series = %s",
            "invoice_services": "SELECT {cols} FROM invoice_services s JOIN invoices i ON i.id = s.invoice_id"
            " WHERE i.series = %s",
        }
        aliases = {"files": "f", "invoices": "i", "invoice_services": "s"}
        for table, query in queries.items():
            buffer = io.BytesIO()
            cols = ", ".join(f'{aliases[table]}."{column}"' for column in columns[table])
            query = query.format(cols=cols)
            sql = cursor.mogrify(query, [series]) if hasattr(cursor, "mogrify") else query.replace("%s", f"'{series}'")
            with cursor.copy(f"COPY ({sql}) TO STDOUT") as copy:
                for chunk in copy:
                    buffer.write(chunk)
            exports[table] = buffer.getvalue()
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("WITH actor AS (SELECT 1) SELECT 1")
        for table in ("files", "invoices", "invoice_services"):
            names = ", ".join(f'"{column}"' for column in columns[table])
            with cursor.copy(f"COPY bench_floor.{table} ({names}) FROM STDIN") as copy:
                copy.write(exports[table])
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA bench_floor CASCADE")
    return elapsed


if __name__ == "__main__":
    main()
