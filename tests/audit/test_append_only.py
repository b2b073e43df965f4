"""The database refuses changes to the logs — the runtime role is not even granted UPDATE,
DELETE or TRUNCATE on them, and the triggers refuse them to anyone, superusers included; a
superuser who forces one is caught by `verify_audit`, which names the entry."""

from __future__ import annotations

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from acountee.errors import ValidationFailed
from audit.models import AuditEntry, AuditSeal, SecurityEvent
from audit.services import audit_log, security_event_record
from audit.verification import verify_chain
from tests.accounts.factories import TeamFactory
from tests.audit.helpers import superuser_connection, superuser_sql

# The runtime role lacks the privilege (embedded server, two URIs); a role that has it (legacy
# single PGURI) meets the append-only trigger.
REFUSED = ("append-only", "permission denied")


def _refused(sql: str, params: list | None = None) -> str:
    with pytest.raises(DatabaseError) as excinfo, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params or [])
    return str(excinfo.value)


def _refused_as_app(sql: str, params: list | None = None) -> bool:
    message = _refused(sql, params)
    return any(reason in message for reason in REFUSED)


@pytest.mark.django_db
def test_update_delete_truncate_on_the_logs_are_refused():
    TeamFactory()
    security_event_record(kind="lockout", details={"email": "x@example.com"})
    entry = AuditEntry.objects.order_by("-id").first()
    before = AuditEntry.objects.count(), SecurityEvent.objects.count()
    assert _refused_as_app("UPDATE audit SET actor = 'mallory' WHERE id = %s", [entry.pk])
    assert _refused_as_app("DELETE FROM audit WHERE id = %s", [entry.pk])
    # (Inside the test's transaction PostgreSQL refuses TRUNCATE even before the trigger runs;
    # the transactional test below sees the trigger's own refusal.)
    assert _refused("TRUNCATE audit")
    assert _refused_as_app("UPDATE security_events SET email = 'x'")
    assert _refused_as_app("DELETE FROM security_events")
    assert _refused("TRUNCATE security_events")
    assert _refused_as_app("UPDATE audit SET checksum = 'f00' WHERE id = %s", [entry.pk])
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # seal now, as commit would
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    assert _refused_as_app("UPDATE audit_seals SET checksum = 'f00'")
    assert _refused_as_app("DELETE FROM audit_seals")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert (AuditEntry.objects.count(), SecurityEvent.objects.count()) == before


@pytest.mark.django_db
def test_semantic_entry_is_written_with_the_given_actor(owner):
    entry = audit_log(action="approve", table="pr", record_id=7, actor=owner, metadata={"reason": "ok"})
    entry.refresh_from_db()
    assert (entry.action, entry.table_name, entry.record_id) == ("approve", "pr", "7")
    assert (entry.actor, entry.actor_user_id, entry.metadata) == (owner.email, owner.pk, {"reason": "ok"})


@pytest.mark.django_db
def test_many_semantic_entries_in_one_insert(owner, django_assert_num_queries):
    from audit.services import audit_log_many

    with django_assert_num_queries(1):
        audit_log_many(action="complete", table="pr", actor=owner, entries=[(1, {"ref": "A"}), (2, {"ref": "B"})])
    rows = list(
        AuditEntry.objects.filter(action="complete", table_name="pr")
        .order_by("record_id")
        .values_list("record_id", "actor_user_id", "metadata")
    )
    assert rows == [("1", owner.pk, {"ref": "A"}), ("2", owner.pk, {"ref": "B"})]
    with pytest.raises(ValidationFailed):
        audit_log_many(action="", table="pr", actor=owner, entries=[(3, {})])


def _superuser_edit(sql: str, params: list) -> None:
    """What a DBA does deliberately: switch the guard off for one statement."""
    with superuser_connection() as conn, conn.transaction():
        conn.execute("ALTER TABLE audit DISABLE TRIGGER audit_append_only")
        conn.execute(sql, params)
        conn.execute("ALTER TABLE audit ENABLE TRIGGER audit_append_only")


@pytest.mark.django_db(transaction=True)
def test_the_append_only_triggers_refuse_a_superuser_too():
    TeamFactory()
    security_event_record(kind="lockout", details={"email": "x@example.com"})
    for statement in (
        "UPDATE audit SET actor = 'mallory'",
        "DELETE FROM audit",
        "TRUNCATE audit",
        "UPDATE audit_seals SET checksum = 'f00'",
        "DELETE FROM audit_seals",
        "TRUNCATE security_events",
        "DELETE FROM security_events",
    ):
        with pytest.raises(psycopg.Error) as excinfo:
            superuser_sql(statement)
        assert "append-only" in str(excinfo.value), statement


@pytest.mark.django_db(transaction=True)
def test_verify_audit_names_the_entry_a_superuser_edited(capsys):
    for _ in range(3):
        TeamFactory()
    call_command("verify_audit")
    assert "intact" in capsys.readouterr().out
    assert _refused_as_app("TRUNCATE audit")
    assert _refused_as_app("TRUNCATE security_events")
    assert _refused_as_app("DELETE FROM audit")
    victim = AuditEntry.objects.filter(table_name="teams").order_by("id")[1]

    _superuser_edit("UPDATE audit SET actor = 'mallory' WHERE id = %s", [victim.pk])
    # The entry is before the checkpoint the first run recorded: --full looks there
    # (tests/audit/test_checkpoint.py: the incremental run finds edits after it).
    with pytest.raises(CommandError) as excinfo:
        call_command("verify_audit", "--full")
    assert excinfo.value.returncode == 1
    assert f"id={victim.pk}" in str(excinfo.value)
    assert f"id={victim.pk}" in capsys.readouterr().err

    # Restoring the content makes the chain whole again.
    _superuser_edit("UPDATE audit SET actor = %s WHERE id = %s", [victim.actor, victim.pk])
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_verify_audit_detects_deletion_rewrite_and_unsealed_insertion():
    with transaction.atomic():
        TeamFactory()
        TeamFactory()
    for _ in range(3):
        TeamFactory()
    entries = list(AuditEntry.objects.filter(table_name="teams").order_by("id"))
    seal_of_first = AuditSeal.objects.get(first_id__lte=entries[0].pk, last_id__gte=entries[0].pk)
    assert seal_of_first.entry_count == 2

    # Deleting an entry of a two-entry transaction: its seal no longer matches.
    _superuser_edit("DELETE FROM audit WHERE id = %s", [entries[1].pk])
    assert [(b.seal_seq, b.problem) for b in verify_chain().broken] == [(seal_of_first.seq, "entries")]

    # Rewriting content and the entry's own checksum consistently: the seal still knows.
    from audit.chain import entry_digest_sql

    _superuser_edit("UPDATE audit a SET actor = 'mallory' WHERE id = %s", [entries[3].pk])
    _superuser_edit(f"UPDATE audit a SET checksum = {entry_digest_sql('a')} WHERE id = %s", [entries[3].pk])
    problems = [(b.id, b.problem) for b in verify_chain().broken]
    assert (entries[3].pk, "entries") in problems and all(p != "content" for _i, p in problems)

    # Deleting a whole seal breaks the link of the next one.
    later = list(AuditSeal.objects.filter(seq__gt=seal_of_first.seq).order_by("seq"))
    with superuser_connection() as conn, conn.transaction():
        conn.execute("ALTER TABLE audit_seals DISABLE TRIGGER audit_seals_append_only")
        conn.execute("DELETE FROM audit_seals WHERE seq = %s", [later[0].seq])
        conn.execute("ALTER TABLE audit_seals ENABLE TRIGGER audit_seals_append_only")
    problems = [(b.seal_seq, b.problem) for b in verify_chain().broken]
    assert (later[1].seq, "missing") in problems

    with superuser_connection() as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        forged = conn.execute(
            "INSERT INTO audit (action, table_name, record_id, actor, user_agent, metadata, checksum)"
            " VALUES ('INSERT', 'teams', '999', 'mallory', '', '{}', '') RETURNING id"
        ).fetchone()[0]
    assert any(b.id == forged and b.problem == "unsealed" for b in verify_chain().broken)


@pytest.mark.django_db
def test_a_non_superuser_application_role_cannot_change_the_log_either():
    TeamFactory()
    security_event_record(kind="lockout", details={"email": "x@example.com"})
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            pytest.skip("the test database role cannot create roles")
        # Created inside the test's transaction: rolled back with it.
        cursor.execute("CREATE ROLE acountee_audit_probe NOLOGIN")
        cursor.execute(
            "GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON audit, audit_seals, security_events"
            " TO acountee_audit_probe"
        )
        cursor.execute("SET LOCAL ROLE acountee_audit_probe")
    try:
        assert "append-only" in _refused("UPDATE audit SET actor = 'mallory'")
        assert "append-only" in _refused("DELETE FROM audit")
        assert "append-only" in _refused("UPDATE security_events SET email = 'x'")
        assert _refused("ALTER TABLE audit DISABLE TRIGGER audit_append_only")  # not the owner
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
