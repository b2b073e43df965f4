"""The audit log partitioned by month: every partition, now and future, is as append-only as
the log itself (triggers and grants), and an entry never lacks a partition."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from acountee.db.roles import runtime_user
from audit.models import AuditEntry
from audit.partitions import ensure_partitions, partitions
from audit.verification import verify_chain
from tests.accounts.factories import TeamFactory
from tests.audit.helpers import superuser_sql


def _partition_names() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'audit'::regclass ORDER BY 1"
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
def test_the_log_is_partitioned_by_month_with_the_coming_months_and_a_default():
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = 'audit'::regclass")
        assert cursor.fetchone()[0] == "p"
        cursor.execute("SELECT pg_get_partkeydef('audit'::regclass)")
        assert cursor.fetchone()[0] == "RANGE (occurred_at)"
    today = dt.datetime.now(dt.UTC).date().replace(day=1)
    months = {p.month for p in partitions() if p.month}
    for ahead in range(4):
        year, month = divmod(today.month - 1 + ahead, 12)
        assert dt.date(today.year + year, month + 1, 1) in months
    assert "audit_default" in _partition_names()

    # The ORM's view is unchanged: one id, one row.
    TeamFactory()
    entry = AuditEntry.objects.order_by("-id").first()
    assert AuditEntry.objects.get(pk=entry.pk).table_name == "teams"


@pytest.mark.django_db
def test_an_entry_outside_every_month_lands_in_the_default_partition_and_is_sealed(capsys):
    far = dt.datetime(2091, 5, 17, tzinfo=dt.UTC)
    with transaction.atomic():
        late = AuditEntry.objects.create(action="note", table_name="teams", record_id="2", occurred_at=far)
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM audit WHERE id = %s", [late.pk])
        assert cursor.fetchone()[0] == "audit_default"
    call_command("audit_partitions", "--count")
    assert "1 entries are in audit_default" in capsys.readouterr().err


def _runtime_owns_the_log() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'audit'::regclass")
        return cursor.fetchone()[0] == runtime_user(connection)


@pytest.mark.django_db
def test_append_only_holds_on_every_partition_including_future_ones():
    TeamFactory()
    made = ensure_partitions(30)  # months not there yet: created now, as the runtime role
    assert made, "the next 30 months were expected to be new"
    names = _partition_names()
    assert set(made) <= set(names)
    role = runtime_user(connection)
    separate_owner = not _runtime_owns_the_log()
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal"
                " AND tgname IN ('audit_append_only', 'audit_entry_before_insert', 'audit_no_truncate')",
                [name],
            )
            assert cursor.fetchone()[0] == 3, name
            if separate_owner:
                for privilege, expected in (
                    ("SELECT", True),
                    ("INSERT", True),
                    ("UPDATE", False),
                    ("DELETE", False),
                    ("TRUNCATE", False),
                ):
                    cursor.execute("SELECT has_table_privilege(%s, %s, %s)", [role, name, privilege])
                    assert cursor.fetchone()[0] is expected, (name, privilege)
    current = AuditEntry.objects.order_by("-id").first()
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM audit WHERE id = %s", [current.pk])
        home = cursor.fetchone()[0]
    for statement in (
        f"UPDATE {home} SET actor = 'mallory' WHERE id = {current.pk}",
        f"DELETE FROM {home} WHERE id = {current.pk}",
        f"TRUNCATE {home}",
        f"TRUNCATE {made[-1]}",  # a future month: guarded from its creation
    ):
        with pytest.raises(DatabaseError) as excinfo, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
        assert any(r in str(excinfo.value) for r in ("append-only", "permission denied")), statement


@pytest.mark.django_db
def test_the_runtime_role_can_create_months_but_not_any_partition():
    if _runtime_owns_the_log():
        pytest.skip("one role owns and runs (legacy PGURI only)")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT audit_create_partition('2001-01-01')")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT audit_ensure_partitions(100)")


@pytest.mark.django_db(transaction=True)
def test_rows_in_the_default_partition_move_to_their_month_and_still_verify(capsys):
    TeamFactory()
    far = dt.datetime(2091, 5, 17, tzinfo=dt.UTC)
    with transaction.atomic():
        late = AuditEntry.objects.create(action="note", table_name="teams", record_id="2", occurred_at=far)
        TeamFactory()  # the same transaction: one seal over the stray entry and a current one
    try:
        call_command("audit_partitions", "--absorb-default", "--count")
        captured = capsys.readouterr()
        assert "into audit_y2091m05" in captured.out and "audit_default" not in captured.err
        with connection.cursor() as cursor:
            cursor.execute("SELECT tableoid::regclass::text FROM audit WHERE id = %s", [late.pk])
            assert cursor.fetchone()[0] == "audit_y2091m05"
            cursor.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'audit_y2091m05'::regclass AND NOT tgisinternal"
            )
            assert cursor.fetchone()[0] == 3  # row triggers enabled again, TRUNCATE guard
            cursor.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'audit_default'::regclass AND tgenabled = 'O'"
                " AND tgname IN ('audit_append_only', 'audit_entry_before_insert', 'audit_no_truncate')"
            )
            assert cursor.fetchone()[0] == 3  # the default is attached again, guarded
        result = verify_chain(full=True)
        assert result.ok, result.broken
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE audit_y2091m05 SET actor = 'mallory'")
    finally:
        superuser_sql("DROP TABLE IF EXISTS audit_y2091m05")
