"""Concurrent approvers with real threads on a transactional database (docs/concurrency.md):
never a lost approval, never a double advance, never a 5xx or a deadlock.

`RACE_ROUNDS` (default 10 here) sets the repetitions; `bench/approvals.py --race-rounds 1000`
runs the long version against its own database."""

from __future__ import annotations

import os

import pytest

from tests.accounts.factories import UserFactory
from tests.approvals.race import RaceTotals, deadlock_count, race_round

APPROVERS = 20
CLICKS = 2


@pytest.fixture
def builtin_roles(transactional_db):
    """A transactional test starts from whatever the previous one left: flushed tables lose the
    built-in roles their data migration created. Put them (and their permissions) back."""
    from accounts.models import Role
    from accounts.roles import BUILTIN_ROLES, sync_builtin_role_permissions

    for name, description in BUILTIN_ROLES.items():
        Role.objects.update_or_create(name=name, defaults={"description": description, "is_builtin": True})
    sync_builtin_role_permissions()


@pytest.fixture
def pool_for_all_clicks(transactional_db):
    """Every click gets its own connection at once (DB_POOL_MAX_SIZE defaults to 20): the race
    is on the PR row lock, not on the pool."""
    from django.db import connection

    options = connection.settings_dict["OPTIONS"].get("pool")
    if not isinstance(options, dict):
        yield
        return
    old = options.get("max_size")

    def rebuild(size: int | None) -> None:
        connection.close()
        connection.close_pool()
        options["max_size"] = size

    rebuild(max(old or 0, APPROVERS * CLICKS + 5))
    yield
    rebuild(old)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_approvers_never_lose_or_double_advance(builtin_roles, pool_for_all_clicks, client_for):
    maker = UserFactory(roles=["finance"])
    step1 = [UserFactory(roles=["bod"]) for _ in range(APPROVERS)]
    step2 = [UserFactory(roles=["bod"]) for _ in range(APPROVERS)]
    clients = {u.pk: client_for(u) for u in step1 + step2}
    totals = RaceTotals()
    deadlocks_before = deadlock_count()
    for _ in range(int(os.environ.get("RACE_ROUNDS", "10"))):
        race_round(maker=maker, step1=step1, step2=step2, clients=clients, totals=totals, clicks=CLICKS)
    assert totals.server_errors == 0, totals
    assert totals.lost_approvals == 0, totals
    assert totals.double_advances == 0, totals
    assert totals.wrong_final_state == 0, totals
    assert totals.deadlock_answers == 0, totals
    assert deadlock_count() == deadlocks_before
    # each round: 1 success on step 1 and 20 on step 2; every other click a clear 409/403
    assert totals.statuses[200] == totals.rounds * (1 + APPROVERS)
    assert set(totals.codes) <= {"ALREADY_APPROVED", "NOT_AN_APPROVER"}, totals.codes
