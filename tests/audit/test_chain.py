"""The hash chain under real concurrency: no deadlock, no fork, no gap."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from accounts.models import Team, User
from audit.models import AuditEntry, AuditSeal
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
    assert result.checked == AuditEntry.objects.count()
    seals = list(AuditSeal.objects.order_by("seq"))
    assert [s.seq for s in seals] == list(range(1, len(seals) + 1))
    assert sum(s.entry_count for s in seals) == result.checked
    assert all(seals[i].prev_checksum == seals[i - 1].checksum for i in range(1, len(seals)))
    assert User.objects.filter(team=shared).count() == rounds * (workers // 2)


@pytest.mark.django_db(transaction=True)
def test_one_transaction_of_many_rows_gets_one_seal():
    before = AuditSeal.objects.count()
    with transaction.atomic():
        Team.objects.bulk_create([Team(name=f"bulk-{i}") for i in range(500)])
        Team.objects.filter(name__startswith="bulk-").update(description="x")
    [seal] = AuditSeal.objects.order_by("-seq")[: AuditSeal.objects.count() - before]
    assert seal.entry_count == 1000
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_rolled_back_work_leaves_no_seal_and_savepoints_are_sealed_once():
    before = AuditSeal.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        TeamFactory()
        raise RuntimeError
    assert AuditSeal.objects.count() == before
    with transaction.atomic():
        try:
            with transaction.atomic():
                TeamFactory()  # the seal request made here is rolled back with it
                raise RuntimeError
        except RuntimeError:
            pass
        TeamFactory()
        with transaction.atomic():
            TeamFactory()
    assert AuditSeal.objects.count() == before + 1
    assert AuditSeal.objects.order_by("-seq").first().entry_count == 2
    assert verify_chain().ok


@pytest.mark.django_db
def test_entries_have_their_checksum_at_once_and_are_sealed_at_commit():
    seals = AuditSeal.objects.count()
    TeamFactory()
    entry = AuditEntry.objects.order_by("-id").first()
    assert len(entry.checksum) == 64
    assert AuditSeal.objects.count() == seals
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # what commit does
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    assert AuditSeal.objects.count() == seals + 1
