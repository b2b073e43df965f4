"""`acountee.db.migration_ops.unbounded`: a migration over a large table is not cancelled by the requests'
statement timeout, in either direction, and the timeout is back once the migration's transaction ends."""

from __future__ import annotations

import pytest
from django.db import connection, migrations
from django.db.migrations.state import ProjectState
from django.db.utils import OperationalError

from acountee.db.migration_ops import unbounded

pytestmark = pytest.mark.django_db(transaction=True)
SLOW = "SELECT pg_sleep(0.3)"


def _run(operations, *, backwards: bool = False) -> None:
    state = ProjectState()
    with connection.schema_editor(atomic=True) as editor:
        editor.execute("SET LOCAL statement_timeout = '100ms'")  # the requests' timeout, made short
        for operation in reversed(operations) if backwards else operations:
            if backwards:
                operation.database_backwards("tests", editor, state, state)
            else:
                operation.database_forwards("tests", editor, state, state)


def test_a_slow_statement_is_cancelled_without_it():
    with pytest.raises(OperationalError, match="statement timeout"):
        _run([migrations.RunSQL(SLOW, SLOW)])


@pytest.mark.parametrize("backwards", [False, True])
def test_unbounded_operations_outlive_the_timeout_in_both_directions(backwards):
    _run(unbounded(migrations.RunSQL(SLOW, SLOW)), backwards=backwards)
    with connection.cursor() as cursor:  # SET LOCAL: the session's own timeout is untouched afterwards
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] not in {"0", "100ms"}


def test_the_migrations_over_large_tables_use_it():
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connection)
    for key in [
        ("audit", "0012_partition_audit_by_month"),
        ("audit", "0013_history_indexes"),
        ("reports", "0004_payables_rollups"),
        ("payments", "0011_approval_timing_backfill"),
    ]:
        operations = loader.disk_migrations[key].operations
        assert getattr(operations[0], "sql", None) == "SET LOCAL statement_timeout = 0", key
        assert getattr(operations[-1], "reverse_sql", None) == "SET LOCAL statement_timeout = 0", key
