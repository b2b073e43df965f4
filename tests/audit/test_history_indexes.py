"""Every history rule of audit/history.py has the index that keeps a record's history cheap at any
size (migration audit.0013, docs/audit.md "History"), on every partition, now and future, and the
planner uses it: a rule registered without its index fails here, not as a page that times out."""

from __future__ import annotations

import pytest
from django.db import connection

from audit.history import CHILD_RULES, OWNED_RULES, ChildRule
from audit.partitions import ensure_partitions
from audit.selectors import _child_ids_query
from tests.audit.helpers import superuser_connection

pytestmark = pytest.mark.django_db

SIDES = ("after", "before")


def _audit_indexes() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'audit'")
        return dict(cursor.fetchall())


def _child_rules() -> list[ChildRule]:
    return sorted({rule for rules in CHILD_RULES.values() for rule in rules}, key=lambda r: (r.table, r.parent_key))


def _history_index(indexes: dict[str, str], rule: ChildRule, side: str) -> str | None:
    """The name of an index on `audit` serving `<side> -> '<key>' IN (…)` for the rule's table."""
    expression = f"(({side} -> '{rule.parent_key}'::text))"
    predicate = f"((table_name)::text = '{rule.table}'::text)"
    for name, definition in indexes.items():
        columns, _, where = definition.partition(" WHERE ")
        if columns.endswith(f"USING btree ({expression})") and predicate in where:
            return name
    return None


def test_every_child_rule_has_an_index_on_each_side():
    indexes = _audit_indexes()
    missing = [
        f"{rule.table}.{rule.parent_key} ({side})"
        for rule in _child_rules()
        for side in SIDES
        if _history_index(indexes, rule, side) is None
    ]
    assert not missing, f"history rules without their index (add a migration like audit.0013): {missing}"


def test_every_owned_rule_reads_the_owner_rows_by_table_and_record_id():
    # _owned_ids reads the owner's own rows: table_name = '<owner>' AND record_id IN (…).
    assert OWNED_RULES
    definitions = _audit_indexes().values()
    assert any("USING btree (table_name, record_id" in d for d in definitions), definitions


def _partitions() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'audit'::regclass")
        return {row[0] for row in cursor.fetchall()}


def _partitions_indexed_by(index: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT x.indrelid::regclass::text FROM pg_inherits i JOIN pg_index x ON x.indexrelid = i.inhrelid"
            " WHERE i.inhparent = %s::regclass AND x.indisvalid",
            [index],
        )
        return {row[0] for row in cursor.fetchall()}


def test_every_partition_has_the_history_indexes_including_months_created_later():
    made = ensure_partitions(30)  # months not there yet
    assert made
    partitions = _partitions()
    assert set(made) <= partitions and "audit_default" in partitions
    indexes = _audit_indexes()
    for rule in _child_rules():
        for side in SIDES:
            name = _history_index(indexes, rule, side)
            assert name is not None
            assert _partitions_indexed_by(name) == partitions, name


def _plan(rule: ChildRule) -> str:
    sql, params = _child_ids_query(rule.table, rule.parent_key, [1, 2]).query.sql_with_params()
    with superuser_connection() as conn, conn.transaction():
        # The test database is small: a sequential scan, or the (table_name, record_id) index, costs about
        # the same as the rule's own indexes here. Both set aside (the DROP is rolled back), the planner
        # still falls back to a sequential scan if no index answers the rule; the assertion is that its
        # own indexes do. Another connection: this test's transaction has not touched `audit`.
        conn.execute("SET LOCAL lock_timeout = '10s'")
        conn.execute("SET LOCAL enable_seqscan = off")
        conn.execute("DROP INDEX audit_record_idx")
        plan = "\n".join(row[0] for row in conn.execute(f"EXPLAIN {sql}", params).fetchall())
        raise _RolledBack(plan)


class _RolledBack(Exception):
    pass


def test_the_planner_answers_each_child_rule_from_its_indexes():
    for rule in _child_rules():
        try:
            _plan(rule)
        except _RolledBack as done:
            plan = str(done)
        for side in SIDES:
            condition = f"Index Cond: (({side} -> '{rule.parent_key}'::text) = ANY"
            assert condition in plan, (rule, side, plan)
