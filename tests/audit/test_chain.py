"""The hash chain under real concurrency: no deadlock, no fork, no gap."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from accounts.models import Team, User
from audit.models import AuditEntry
from audit.verification import verify_chain
from tests.accounts.factories import TeamFactory, UserFactory


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_unbroken_chain_without_deadlocks():
    shared = TeamFactory(name="shared")
    workers, rounds = 6, 12
    errors: list[BaseException] = []
    barrier = threading.Barrier(workers)

    def locker(n: int) -> None:
        # Holds a row lock on the shared team until commit (the row a PR would be).
        for i in range(rounds):
            with transaction.atomic():
                team = Team.objects.select_for_update().get(pk=shared.pk)
                team.description = f"{n}-{i}"
                team.save(update_fields=["description", "updated_at"])
                Team.objects.bulk_create([Team(name=f"l{n}-{i}-{k}") for k in range(3)])

    def referrer(n: int) -> None:
        # Inserts rows whose deferred foreign-key check needs a KEY SHARE lock on the shared
        # team at commit: the lock order that deadlocks a lock-in-the-row-trigger design.
        for i in range(rounds):
            with transaction.atomic():
                UserFactory(team=shared, email=f"r{n}-{i}@acountee.test")
                Team.objects.create(name=f"r{n}-{i}")

    def run(target, n):
        try:
            barrier.wait(timeout=10)
            target(n)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(locker if n % 2 else referrer, n)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, [str(e) for e in errors]

    result = verify_chain()
    assert result.ok, result.broken
    total = AuditEntry.objects.count()
    assert AuditEntry.objects.filter(chain_seq__isnull=True).count() == 0
    assert result.checked == total and result.head_seq == total
    assert User.objects.filter(team=shared).count() == rounds * (workers // 2)


@pytest.mark.django_db(transaction=True)
def test_one_transaction_of_many_rows_is_sealed_in_id_order():
    with transaction.atomic():
        Team.objects.bulk_create([Team(name=f"bulk-{i}") for i in range(500)])
    rows = list(AuditEntry.objects.order_by("id").values_list("chain_seq", "prev_checksum", "checksum"))
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    assert all(rows[i][1] == rows[i - 1][2] for i in range(1, len(rows)))
    assert verify_chain().ok


@pytest.mark.django_db
def test_entries_are_unsealed_until_commit():
    TeamFactory()
    entry = AuditEntry.objects.order_by("-id").first()
    assert entry.checksum == "" and entry.chain_seq is None
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # what commit does
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    entry.refresh_from_db()
    assert len(entry.checksum) == 64 and entry.chain_seq is not None
