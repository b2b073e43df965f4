"""The approval race harness, shared by `tests/approvals/test_race.py` (a few rounds, CI) and
`bench/approvals.py --race-rounds 1000` (the long run).

One round: a PR whose chain is [anyof: N approvers] → [allof: N other approvers]. All N
approvers of step 1 hit `POST …/approve/` at the same instant (each twice, a double click),
then all N of step 2 do the same. Afterwards the database must show exactly one record on
step 1, exactly N on step 2, each step satisfied exactly once, the PR approved, every 200
backed by a record, and no 5xx answer.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, connections


@dataclass
class RaceTotals:
    rounds: int = 0
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    codes: Counter = field(default_factory=Counter)
    lost_approvals: int = 0
    double_advances: int = 0
    server_errors: int = 0
    deadlock_answers: int = 0
    wrong_final_state: int = 0

    @property
    def clean(self) -> bool:
        return not (
            self.lost_approvals
            or self.double_advances
            or self.server_errors
            or self.deadlock_answers
            or self.wrong_final_state
        )


BUSY_RETRIES = 3


def _fire(clients: list[Any], url: str, clicks: int) -> list[tuple[int, str]]:
    """Every client posts `clicks` times, all released by one barrier."""
    jobs = [c for c in clients for _ in range(clicks)]
    barrier = threading.Barrier(len(jobs))
    results: list[tuple[int, str]] = [(0, "")] * len(jobs)

    def run(index: int, client: Any) -> None:
        try:
            barrier.wait(timeout=30)
            # BUSY (lock_timeout on a loaded machine) means nothing was saved and says "retry":
            # a real client retries it, so the race checks what happens to clicks that land.
            for _attempt in range(BUSY_RETRIES + 1):
                response = client.post(url, {}, format="json")
                code = ""
                if response.status_code != 200:
                    try:
                        code = response.json()["error"]["code"]
                    except Exception:  # a 5xx page is not JSON
                        code = "NON_JSON"
                if code != "BUSY":
                    break
            results[index] = (response.status_code, code)
        except Exception as exc:
            results[index] = (599, type(exc).__name__)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def deadlock_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


def race_round(
    *, maker: Any, step1: list[Any], step2: list[Any], clients: dict[int, Any], totals: RaceTotals, clicks: int = 2
) -> None:
    from approvals.models import ApprovalRecord
    from audit.models import AuditEntry
    from payments.models import PaymentRequest
    from tests.payments.factories import make_pr

    pr = make_pr(maker=maker, steps=[("anyof", step1), ("allof", step2)], request=True)
    url = f"/api/payment-requests/{pr.pk}/approve/"
    for number, users in ((1, step1), (2, step2)):
        results = _fire([clients[u.pk] for u in users], url, clicks)
        totals.requests += len(results)
        for status, code in results:
            totals.statuses[status] += 1
            if code:
                totals.codes[code] += 1
            if status >= 500:
                totals.server_errors += 1
            if code in ("DATABASE_UNAVAILABLE", "DEADLOCK"):
                totals.deadlock_answers += 1
        ok = sum(1 for status, _code in results if status == 200)
        recorded = ApprovalRecord.objects.filter(approval__pr=pr, step__number=number).count()
        expected = 1 if number == 1 else len(users)
        if recorded != ok or recorded != expected:
            totals.lost_approvals += abs(expected - recorded) or abs(ok - recorded)
        advances = sum(
            1
            for m in AuditEntry.objects.filter(table_name="pr", record_id=str(pr.pk), action="approve").values_list(
                "metadata", flat=True
            )
            if m.get("step") == number and m.get("step_satisfied")
        )
        if advances > 1:
            totals.double_advances += advances - 1
    if PaymentRequest.objects.get(pk=pr.pk).status != "approved":
        totals.wrong_final_state += 1
    totals.rounds += 1
