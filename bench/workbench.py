"""Period-end workbench benchmark (issue 8). Prints figures; asserts nothing about time.

    psql -h 127.0.0.1 -U postgres -c 'create database acountee_workbench'
    PGURI=postgres://postgres@127.0.0.1:5432/acountee_workbench .venv/bin/python bench/workbench.py [-n 100000]

1. export of N approved PRs in one month through the real HTTP view (Django test client, in
   process): CSV time to first byte and total, XLSX total; peak RSS growth of the process
   while it runs (sampled every 10 ms by a thread) — the streaming claim is constant memory;
2. paid import of a 10,000-row CSV (`paid_import`, each row completing its PR through the
   approvals service in its own transaction).

Migrates the database PGURI names first; the PRs (10 % direct with one invoice each) are made
in bulk once per month tag — data set-up, not the code under test.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "acountee.settings")
os.environ.setdefault("DEBUG", "false")


def setup_django() -> None:
    if not os.environ.get("PGURI"):
        sys.exit("Set PGURI to a database of your own (see the docstring).")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class PeakRSS:
    def __init__(self) -> None:
        import psutil

        self.proc = psutil.Process()
        self.base = self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self) -> PeakRSS:
        import gc

        gc.collect()
        self.base = self.peak = self.proc.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.base) / 1024 / 1024


def make_data(n: int, month: tuple[int, int]) -> tuple[object, list[int]]:
    import datetime
    import hashlib
    from decimal import Decimal

    from django.db import connection
    from django.utils import timezone

    from accounts.models import Team, User
    from files.services import stored_file_create
    from invoices.models import Invoice
    from payments.models import PaymentRequest, PRInvoice

    tag = f"{month[0]}{month[1]:02d}-{n}"
    team, _ = Team.objects.get_or_create(name="bench-workbench", defaults={"capabilities": ["workbench"]})
    user, _created = User.objects.get_or_create(
        email=f"bench-wb-{tag}@acountee.test", defaults={"name": "Bench Kế Toán", "team": team}
    )
    if _created:
        from accounts.models import Role, UserRole

        UserRole.objects.create(user=user, role=Role.objects.get(name="finance"))
    when = datetime.datetime(month[0], month[1], 15, 10, tzinfo=timezone.get_default_timezone())
    existing = list(PaymentRequest.objects.filter(maker=user).order_by("id").values_list("id", flat=True))
    if existing:
        return user, existing
    t = time.perf_counter()
    file = stored_file_create(content=f"<bench {tag}/>".encode(), name="bench.xml", created_by=None)
    batch = 5000
    for start in range(0, n, batch):
        size = min(batch, n - start)
        prs = PaymentRequest.objects.bulk_create(
            [
                PaymentRequest(
                    name=f"Thanh toán nhà cung cấp số {start + i} — tháng {month[1]}",
                    type="direct" if (start + i) % 10 == 0 else "advanced",
                    amount=Decimal(1_000_000 + (start + i) * 13),
                    maker=user,
                    status="approved",
                    bank_name="Vietcombank — CN Hà Nội",
                    bank_account=f"0071{start + i:09d}",
                    account_name="CÔNG TY TNHH NHÀ CUNG CẤP",
                    note="Ghi chú",
                    payee_bank_name="Vietcombank — CN Hà Nội",
                    payee_bank_account=f"0071{start + i:09d}",
                    payee_account_name="CÔNG TY TNHH NHÀ CUNG CẤP",
                )
                for i in range(size)
            ]
        )
        direct = [p for p in prs if p.type == "direct"]
        invoices = Invoice.objects.bulk_create(
            [
                Invoice(
                    template_code="1",
                    series="C26BEN",
                    number=f"{p.pk:08d}",
                    number_int=p.pk,
                    issue_date=when.date(),
                    seller_name="Công ty CP Cung ứng Minh Phát",
                    seller_tax_code="0101234567",
                    total_before_tax=p.amount,
                    total_tax=Decimal(0),
                    total_payable=p.amount,
                    content_hash=hashlib.sha256(f"bench-{tag}-{p.pk}".encode()).hexdigest(),
                    source_file=file,
                    payment_bank_account="12210000345678",
                    payment_bank_name="BIDV",
                    payment_account_name="CÔNG TY CP CUNG ỨNG MINH PHÁT",
                )
                for p in direct
            ]
        )
        PRInvoice.objects.bulk_create([PRInvoice(pr=p, invoice=inv) for p, inv in zip(direct, invoices, strict=True)])
    PaymentRequest.objects.filter(maker=user).update(created_at=when)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE pr; ANALYZE invoices; ANALYZE pr_invoice")
    print(f"data: {n} approved PRs made in {time.perf_counter() - t:.1f} s")
    return user, list(PaymentRequest.objects.filter(maker=user).order_by("id").values_list("id", flat=True))


def bench_export(user: object, month: str, n: int) -> None:
    from django.test import Client

    client = Client()
    client.force_login(user)
    client.get("/api/workbench/export/", {"month": "2001-01", "format": "csv"})  # warm up
    for fmt in ("csv", "xlsx"):
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            response = client.get("/api/workbench/export/", {"month": month, "format": fmt})
            first = None
            size = 0
            for chunk in response.streaming_content:
                if first is None:
                    first = time.perf_counter() - t0
                size += len(chunk)
            total = time.perf_counter() - t0
        rows = n
        print(
            f"export {fmt}: {rows} PRs, {size / 1024 / 1024:.1f} MB, first byte {first:.2f} s, "
            f"total {total:.2f} s, peak RSS growth {mem.growth_mb:.1f} MB (status {response.status_code})"
        )


def bench_import(user: object, ids: list[int]) -> None:
    from payments.models import PaymentRequest
    from payments.workbench.services import paid_import

    chosen = ids[:10_000]
    content = ("pr_id,payment_reference\n" + "".join(f"{pk},FT{pk}\n" for pk in chosen)).encode()
    t0 = time.perf_counter()
    report = paid_import(upload=content, actor=user, dry_run=True)
    print(f"import dry run: {len(chosen)} rows in {time.perf_counter() - t0:.2f} s ({report.statuses})")
    t0 = time.perf_counter()
    report = paid_import(upload=content, actor=user, dry_run=False)
    print(f"import: {len(chosen)} rows in {time.perf_counter() - t0:.2f} s ({report.results})")
    t0 = time.perf_counter()
    report = paid_import(upload=content, actor=user, dry_run=False)
    print(f"import again (no-op): {time.perf_counter() - t0:.2f} s ({report.results})")
    # put them back to approved for the next run (bulk, not the code under test)
    PaymentRequest.objects.filter(pk__in=chosen).update(status="approved", payment_reference="", completed_at=None)
    from invoices.models import Invoice

    Invoice.objects.filter(pr_link__pr_id__in=chosen).update(status="imported")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("--skip-import", action="store_true")
    args = parser.parse_args()
    setup_django()
    month = (2025, 3)
    user, ids = make_data(args.n, month)
    bench_export(user, f"{month[0]}-{month[1]:02d}", len(ids))
    if not args.skip_import:
        bench_import(user, ids)


if __name__ == "__main__":
    main()
