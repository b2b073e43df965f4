"""verify_audit from a signed checkpoint: tampering after it is found by the incremental run,
tampering before it only by --full (docs/audit.md)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditCheckpoint, AuditEntry
from audit.verification import verify_chain
from tests.accounts.factories import TeamFactory
from tests.audit.helpers import superuser_connection


def _superuser_edit(sql: str, params: list) -> None:
    with superuser_connection() as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute(sql, params)


@pytest.mark.django_db(transaction=True)
def test_incremental_run_starts_at_the_checkpoint_and_finds_tampering_after_it(capsys):
    for _ in range(3):
        TeamFactory()
    call_command("verify_audit")  # no checkpoint yet: a full pass, which records one
    out = capsys.readouterr().out
    assert "intact (full:" in out and "entries/s" in out and "seals/s" in out
    first = AuditCheckpoint.objects.get()
    assert first.full and first.seal_seq == verify_chain().head_seq

    before_checkpoint = AuditEntry.objects.filter(table_name="teams").order_by("id").first()
    for _ in range(2):
        TeamFactory()
    result = verify_chain(full=False, record_checkpoint=True)
    assert result.ok and not result.full and result.from_seq == first.seal_seq
    assert result.seals_checked == 2 and 0 < result.checked < AuditEntry.objects.count()
    second = AuditCheckpoint.objects.order_by("-id").first()
    assert second.seal_seq == result.head_seq and not second.full

    TeamFactory()
    after = AuditEntry.objects.order_by("-id").first()
    _superuser_edit("UPDATE audit SET actor = 'mallory' WHERE id = %s", [after.pk])
    with pytest.raises(CommandError) as excinfo:
        call_command("verify_audit")
    assert excinfo.value.returncode == 1 and f"id={after.pk}" in str(excinfo.value)
    assert "incremental from seal" in str(excinfo.value)
    _superuser_edit("UPDATE audit SET actor = %s WHERE id = %s", [after.actor, after.pk])
    call_command("verify_audit")

    # Before the checkpoint: the incremental run does not look there; --full does.
    _superuser_edit("UPDATE audit SET actor = 'mallory' WHERE id = %s", [before_checkpoint.pk])
    call_command("verify_audit")
    assert "intact (incremental" in capsys.readouterr().out
    with pytest.raises(CommandError) as excinfo:
        call_command("verify_audit", "--full")
    assert f"id={before_checkpoint.pk}" in str(excinfo.value) and "(content" in str(excinfo.value)


@pytest.mark.django_db(transaction=True)
def test_a_checkpoint_made_up_in_sql_is_not_trusted():
    TeamFactory()
    call_command("verify_audit")
    TeamFactory()
    head = verify_chain().head_seq
    victim = AuditEntry.objects.order_by("-id").first()
    _superuser_edit("UPDATE audit SET actor = 'mallory' WHERE id = %s", [victim.pk])
    # A forged checkpoint past the edited entry: its MAC cannot be made without the key.
    with superuser_connection() as conn:
        conn.execute(
            'INSERT INTO audit_checkpoints (seal_seq, seal_checksum, max_entry_id, entries, "full", verified_at, mac)'
            " SELECT seq, checksum, %s, 1, true, now(), repeat('0', 64) FROM audit_seals WHERE seq = %s",
            [victim.pk, head],
        )
    problems = {b.problem for b in verify_chain(full=False).broken}
    assert {"checkpoint_forged", "content"} <= problems


@pytest.mark.django_db(transaction=True)
def test_a_rewritten_chain_before_the_checkpoint_shows_in_the_incremental_run():
    TeamFactory()
    TeamFactory()
    call_command("verify_audit")
    checkpoint = AuditCheckpoint.objects.get()
    _superuser_edit("UPDATE audit_seals SET checksum = repeat('a', 64) WHERE seq = %s", [checkpoint.seal_seq])
    problems = {b.problem for b in verify_chain(full=False).broken}
    assert "checkpoint_changed" in problems
