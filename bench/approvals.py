"""Approval benchmarks (issue 6). Prints figures; asserts nothing about time.

    createdb: psql -h 127.0.0.1 -U postgres -c 'create database acountee_payments'
    PGURI=postgres://postgres@127.0.0.1:5432/acountee_payments .venv/bin/python bench/approvals.py
    … --race-rounds 1000        # the long race run (zero lost / double advances / 5xx / deadlocks)
    … --skip-bulk --skip-list   # only the race

1. bulk approve: 1,000 pending PRs in one `POST /api/payment-requests/bulk-approve/` (target ≤ 2 s);
2. list: `GET /api/payment-requests/?page_size=100` over ≥ 10,000 PRs, p50 over many pages
   (target ≤ 30 ms), and the query count at page_size 10 vs 100 (must be equal);
3. race (optional): N rounds of 20 approvers x 2 clicks on an anyof step, then on an allof step.

Runs the whole request stack in-process (Django test client, token auth, middleware) against
the database PGURI names; it migrates that database first and adds its own data.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "acountee.settings")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("DB_POOL_MAX_SIZE", "60")
os.environ.setdefault("LOG_LEVEL", "ERROR")


def setup_django() -> None:
    if not os.environ.get("PGURI"):
        sys.exit("Set PGURI to a database of your own (see the docstring).")
    import django

    django.setup()
    import logging

    logging.getLogger("django.request").setLevel(logging.ERROR)  # 403/409 answers are expected here
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def make_user(email: str, role: str):
    from accounts.models import Role, User, UserRole

    user, created = User.objects.get_or_create(email=email, defaults={"name": email.split("@")[0]})
    if created:
        user.set_unusable_password()
        user.save()
        UserRole.objects.get_or_create(user=user, role=Role.objects.get(name=role))
    return user


def client_for(user):
    from rest_framework.test import APIClient

    from accounts.services import api_token_create

    _token, key = api_token_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def bulk_pending_prs(*, n: int, maker, approver, status: str = "pending", tag: str) -> list[int]:
    """n PRs with a one-step anyof chain naming `approver`, written in bulk (data set-up, not
    the product path: the product path is what is measured)."""
    from django.db import transaction
    from django.utils import timezone

    from approvals.models import Approval, ApprovalStep, ApprovalStepUser
    from payments.models import PaymentRequest

    pending = status == "pending"
    now = timezone.now() if pending else None
    with transaction.atomic():
        # the chains first: each request points at its own (pr.approval_id); a pending chain carries the timing
        # facts `chain_start` writes (requested, its first step started: docs/approvals.md "Timing")
        approvals = Approval.objects.bulk_create(
            [Approval(current_step=1 if pending else 0, requested_at=now) for _ in range(n)], batch_size=2000
        )
        prs = PaymentRequest.objects.bulk_create(
            [
                PaymentRequest(
                    approval=approvals[i],
                    name=f"{tag} #{i}",
                    type="advanced",
                    amount=Decimal("1500000") + i,
                    maker=maker,
                    status=status,
                    bank_name="Vietcombank",
                    bank_account="0071000123456",
                    account_name="CONG TY TNHH ABC",
                    payee_bank_name="Vietcombank",
                    payee_bank_account="" if status == "draft" else "0071000123456",
                    payee_account_name="CONG TY TNHH ABC",
                )
                for i in range(n)
            ],
            batch_size=2000,
        )
        steps = ApprovalStep.objects.bulk_create(
            [ApprovalStep(approval=a, number=1, name="Giám đốc", mode="anyof", started_at=now) for a in approvals],
            batch_size=2000,
        )
        ApprovalStepUser.objects.bulk_create([ApprovalStepUser(step=s, user=approver) for s in steps], batch_size=2000)
    from django.db import connection

    with connection.cursor() as cursor:  # what autovacuum would do after a bulk load: planner statistics
        cursor.execute("ANALYZE pr, approval, approval_steps, approval_step_users, approval_records")
    return [pr.pk for pr in prs]


def bench_bulk(stamp: str) -> None:
    maker = make_user(f"bench-maker-{stamp}@acountee.test", "finance")
    approver = make_user(f"bench-approver-{stamp}@acountee.test", "bod")
    ids = bulk_pending_prs(n=1000, maker=maker, approver=approver, tag=f"bench-bulk-{stamp}")
    client = client_for(approver)
    client.get("/api/payment-requests/?page_size=1")  # warm-up: token first use, pool
    started = time.perf_counter()
    response = client.post("/api/payment-requests/bulk-approve/", {"ids": ids}, format="json")
    elapsed = time.perf_counter() - started
    body = response.json()
    print(
        f"bulk approve: {len(ids)} PRs in one call: {elapsed:.3f} s "
        f"(HTTP {response.status_code}, approved {len(body.get('approved', []))}, "
        f"failed {len(body.get('failed', []))})  target <= 2 s"
    )


def bench_list(stamp: str, total: int = 10_000, samples: int = 200) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from payments.models import PaymentRequest

    maker = make_user(f"bench-maker-{stamp}@acountee.test", "finance")
    approver = make_user(f"bench-approver-{stamp}@acountee.test", "bod")
    missing = total - PaymentRequest.objects.count()
    if missing > 0:
        bulk_pending_prs(n=missing, maker=maker, approver=approver, tag=f"bench-list-{stamp}")
    count = PaymentRequest.objects.count()
    client = client_for(make_user(f"bench-finance-{stamp}@acountee.test", "finance"))
    client.get("/api/payment-requests/?page_size=1")
    pages = max(1, count // 100)
    timings = []
    for i in range(samples):
        page = 1 + (i * 7) % pages
        started = time.perf_counter()
        response = client.get(f"/api/payment-requests/?page_size=100&page={page}")
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content[:300]
    timings.sort()
    p50 = statistics.median(timings)
    p95 = timings[int(len(timings) * 0.95) - 1]
    queries = {}
    for size in (10, 100):
        with CaptureQueriesContext(connection) as ctx:
            client.get(f"/api/payment-requests/?page_size={size}")
        queries[size] = len(ctx.captured_queries)
    awaiting = []
    approver_client = client_for(approver)
    approver_client.get("/api/payment-requests/?page_size=1")
    for _ in range(20):
        started = time.perf_counter()
        approver_client.get("/api/payment-requests/?page_size=100&awaiting_me=true")
        awaiting.append((time.perf_counter() - started) * 1000)
    print(
        f"list: {count} PRs, page_size=100, {samples} pages: p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
        f"min {timings[0]:.1f} ms  target p50 <= 30 ms  (load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} CPUs)"
    )
    print(f"list: queries per request at page_size 10 / 100: {queries[10]} / {queries[100]}")
    print(
        f"list ?awaiting_me=true (approver named on {count} PRs' chains), page_size=100: "
        f"p50 {statistics.median(awaiting):.1f} ms"
    )


def bench_race(stamp: str, rounds: int) -> bool:
    from tests.approvals.race import RaceTotals, deadlock_count, race_round

    maker = make_user(f"bench-race-maker-{stamp}@acountee.test", "finance")
    step1 = [make_user(f"bench-race-a{i}-{stamp}@acountee.test", "bod") for i in range(20)]
    step2 = [make_user(f"bench-race-b{i}-{stamp}@acountee.test", "bod") for i in range(20)]
    clients = {u.pk: client_for(u) for u in step1 + step2}
    totals = RaceTotals()
    deadlocks_before = deadlock_count()
    started = time.perf_counter()
    for i in range(rounds):
        race_round(maker=maker, step1=step1, step2=step2, clients=clients, totals=totals)
        if (i + 1) % 100 == 0:
            print(f"  race: {i + 1} rounds, {time.perf_counter() - started:.0f} s", flush=True)
    deadlocks = deadlock_count() - deadlocks_before
    print(f"race: {totals.rounds} rounds, {totals.requests} approve requests in {time.perf_counter() - started:.0f} s")
    print(f"race: statuses {dict(sorted(totals.statuses.items()))}, refusal codes {dict(totals.codes)}")
    print(
        f"race: lost approvals {totals.lost_approvals}, double advances {totals.double_advances}, "
        f"5xx {totals.server_errors}, deadlock answers {totals.deadlock_answers}, "
        f"PostgreSQL deadlocks {deadlocks}, wrong final state {totals.wrong_final_state}"
    )
    return totals.clean and deadlocks == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--race-rounds", type=int, default=0)
    parser.add_argument("--skip-bulk", action="store_true")
    parser.add_argument("--skip-list", action="store_true")
    args = parser.parse_args()
    setup_django()
    stamp = time.strftime("%Y%m%d%H%M%S")
    if not args.skip_bulk:
        bench_bulk(stamp)
    if not args.skip_list:
        bench_list(stamp)
    if args.race_rounds and not bench_race(stamp, args.race_rounds):
        sys.exit(1)


if __name__ == "__main__":
    main()
