"""Scale benchmark (issue 22): the product at 10,000, 100,000 and 1,000,000 invoices.

    PGURI=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/scale.py [--sizes 10k,100k,1m]
        [--runs 15] [--rebuild] [--build-only] [--db-prefix acountee_scale] [--no-import] [--no-verify]

PGURI names the server (any database on it; the role must be able to create databases). Each size gets its own
database, `<prefix>_<size>`, built once and reused (`--rebuild` starts over); a build interrupted part-way resumes
where it stopped. How the data is made: bench/scale_data.py and docs/performance.md (real services write a
template, PostgreSQL multiplies it with every trigger on, so the audit log holds what the triggers write).

Measured per size, through Django's test Client over the whole stack (URL routing, middleware, token or session
authentication, DRF, serializers, templates; no HTTP socket): p50/p95 over `--runs` runs of each API list,
search, detail and report, the admin home page as each demo persona, a month's bank-transfer export (time to
first byte and total), then once: a 10,000-invoice ZIP import (bench/import.py's generator, through
`invoices_import`) and `verify_audit`. Prints a table; writes the table and an SVG chart of cost against size
into docs/performance.md and docs/performance-scale.svg (between markers, the rest of the page is kept).
DEBUG is forced off.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "acountee.settings")
os.environ["DEBUG"] = "false"
os.environ.setdefault("LOG_LEVEL", "ERROR")

from bench.scale_data import SIZES  # noqa: E402

RESULTS = ROOT / "bench" / ".scale-results.json"


def uri_for(base: str, database: str) -> str:
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path="/" + database))


def psql(base: str, sql: str) -> str:
    import psycopg

    with psycopg.connect(uri_for(base, "postgres"), autocommit=True) as conn:
        cur = conn.execute(sql)
        return str(cur.fetchone()[0]) if cur.description else ""


def exists(base: str, name: str) -> bool:
    return psql(base, f"SELECT count(*) FROM pg_database WHERE datname = '{name}'") == "1"  # noqa: S608


def child(args: list[str], database: str, base: str) -> None:
    env = {**os.environ, "PGURI": uri_for(base, database)}
    subprocess.run([sys.executable, __file__, *args], env=env, check=True)  # noqa: S603


def ensure(base: str, prefix: str, size: str, rebuild: bool) -> str:
    template, name = f"{prefix}_template", f"{prefix}_{size}"
    if rebuild and exists(base, name):
        psql(base, f'DROP DATABASE "{name}"')
    if not exists(base, template):
        psql(base, f'CREATE DATABASE "{template}"')
        started = time.perf_counter()
        child(["--worker", "template"], template, base)
        print(f"template (migrate + seed_demo through the services) in {time.perf_counter() - started:.1f} s")
    if not exists(base, name):
        psql(base, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    child(["--worker", "build", "--size", size], name, base)
    return name


def worker_template() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115


def worker_build(size: str, phase: str = "all") -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench import scale_data

    call_command("migrate", verbosity=0, interactive=False)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM invoices")
        have = cursor.fetchone()[0]
        cursor.execute("SELECT to_regclass('scale_progress') IS NOT NULL")
        built = cursor.fetchone()[0]
    if built and have >= SIZES[size] and phase == "all":
        cursor = connection.cursor()
        cursor.execute("SELECT string_agg(kind || ' ' || round(seconds::numeric, 1) || ' s', ', ') FROM scale_progress")
        print(f"{size}: reusing the built database ({have:,} invoices; built in {cursor.fetchone()[0]})")
        return
    print(f"{size}: building {SIZES[size]:,} invoices")
    outcome = scale_data.build(connection, SIZES[size], log=lambda m: print(m, flush=True), phase=phase)
    if phase != "all":
        return
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # The application's statement timeout (settings) would cancel a vacuum of the 1M database's audit log.
        cursor.execute("SET statement_timeout = 0")
        cursor.execute("VACUUM ANALYZE")
    print(f"{size}: built in {outcome['seconds']:.0f} s, VACUUM ANALYZE {time.perf_counter() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10k,100k,1m")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--db-prefix", default="acountee_scale")
    parser.add_argument("--no-import", action="store_true")
    parser.add_argument("--no-verify", action="store_true")
    parser.add_argument("--worker", choices=["template", "build", "measure", "import"], help=argparse.SUPPRESS)
    parser.add_argument("--size", help=argparse.SUPPRESS)
    parser.add_argument("--phase", default="all", choices=["all", "invoices", "prs"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not os.environ.get("PGURI"):
        sys.exit("Set PGURI to the PostgreSQL server (see the docstring).")
    if args.worker == "template":
        return worker_template()
    if args.worker == "build":
        return worker_build(args.size, args.phase)
    if args.worker == "measure":
        from bench import scale_measure

        return scale_measure.run(args.size, args.runs, not args.no_import, not args.no_verify, RESULTS)
    if args.worker == "import":
        from bench import scale_measure

        return scale_measure.run_import_only(RESULTS)
    base = os.environ["PGURI"]
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    have_empty = RESULTS.exists() and "empty" in json.loads(RESULTS.read_text())
    if not args.build_only and not args.no_import and (args.rebuild or not have_empty):
        # The empty-database figure the import at each size is compared with: a fresh copy of the template.
        ensure(base, args.db_prefix, "10k", False)  # makes the template when missing
        empty = f"{args.db_prefix}_empty"
        if exists(base, empty):
            psql(base, f'DROP DATABASE "{empty}"')
        psql(base, f'CREATE DATABASE "{empty}" TEMPLATE "{args.db_prefix}_template"')
        child(["--worker", "import"], empty, base)
        psql(base, f'DROP DATABASE "{empty}"')
    for size in sizes:
        if size not in SIZES:
            sys.exit(f"unknown size {size!r}: {', '.join(SIZES)}")
        name = ensure(base, args.db_prefix, size, args.rebuild)
        if not args.build_only:
            extra = ["--runs", str(args.runs)] + ["--no-import"] * args.no_import + ["--no-verify"] * args.no_verify
            child(["--worker", "measure", "--size", size, *extra], name, base)
    if not args.build_only:
        from bench import scale_measure

        scale_measure.report(json.loads(RESULTS.read_text()), ROOT / "docs")


if __name__ == "__main__":
    main()
