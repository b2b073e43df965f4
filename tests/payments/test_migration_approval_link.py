"""payments.0008 + approvals.0005 move the link between a request and its chain to the request's side
(`pr.approval_id`) and carry every existing link across, both ways; the request's history still shows its
chain (approval rows written before the move included)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from acountee.db.roles import owner_connection
from audit.selectors import record_history
from payments import services
from payments.models import PaymentRequest
from tests.approvals.factories import approver_users
from tests.payments.factories import make_pr

BEFORE = [("payments", "0007_rejection_on_request"), ("approvals", "0004_custom_chain_and_alternates")]


def _migrate(targets: list[tuple[str, str]]) -> None:
    with owner_connection(connection):
        executor = MigrationExecutor(connection)
        executor.migrate(targets)


def _leaves() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _columns(table: str) -> set[str]:
    with connection.cursor() as cursor:
        return {c.name for c in connection.introspection.get_table_description(cursor, table)}


def _rows(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall())


@pytest.mark.django_db(transaction=True)
def test_links_are_carried_back_and_forth_and_the_history_keeps_the_chain(maker):
    (approver,) = approver_users(1)
    draft = services.payment_request_create(actor=maker, name="Nháp", type="direct")
    pending = make_pr(maker=maker, steps=[("anyof", [approver])], request=True)
    links = dict(PaymentRequest.objects.values_list("id", "approval_id"))
    assert set(links) == {draft.pk, pending.pk} and None not in links.values()
    leaves = _leaves()

    _migrate(BEFORE)  # back: the chains point at their requests again
    assert dict(_rows("SELECT pr_id, id FROM approval")) == links
    assert "approval_id" not in {
        c.name for c in connection.introspection.get_table_description(connection.cursor(), "pr")
    }

    _migrate(leaves)  # forward again: each request points at its chain
    assert dict(PaymentRequest.objects.values_list("id", "approval_id")) == links
    assert "pr_id" not in {
        c.name for c in connection.introspection.get_table_description(connection.cursor(), "approval")
    }

    history = record_history(table="pr", record_id=str(pending.pk))
    tables = set(history.values_list("table_name", flat=True))
    assert {"pr", "approval", "approval_steps", "approval_step_users"} <= tables
    # the chain's rows written before the move (with pr_id) are in the history too
    assert history.filter(table_name="approval", after__pr_id=pending.pk).exists()
