"""Archiving a month of the audit log: the file in the file store, the partition detached, and
verify_audit still checking it — including a transaction whose entries straddle the boundary."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from audit.models import AuditArchive, AuditEntry, AuditSeal
from audit.verification import verify_chain
from tests.accounts.factories import TeamFactory
from tests.audit.helpers import superuser_connection, superuser_sql

OLD = dt.datetime(2025, 1, 15, 8, 30, tzinfo=dt.UTC)


def _old_month_with_entries() -> list[int]:
    superuser_sql("SELECT audit_create_partition('2025-01-01')")
    ids = []
    with transaction.atomic():
        for n in range(3):
            ids.append(
                AuditEntry.objects.create(action="note", table_name="teams", record_id=str(n), occurred_at=OLD).pk
            )
    # One transaction on both sides of the boundary: its seal covers an archived and a live entry.
    with transaction.atomic():
        ids.append(AuditEntry.objects.create(action="note", table_name="teams", record_id="x", occurred_at=OLD).pk)
        TeamFactory()
    return ids


@pytest.mark.django_db(transaction=True)
def test_archive_a_month_then_verify_reads_it_back_and_the_chain_runs_on(capsys):
    TeamFactory()
    archived_ids = _old_month_with_entries()
    call_command("audit_archive", "--before", "2025-02", "--drop")
    out = capsys.readouterr().out
    assert "audit_y2025m01: 4 entries" in out and "dropped" in out

    record = AuditArchive.objects.get()
    assert (record.month, record.rows, record.first_id, record.last_id) == (
        dt.date(2025, 1, 1),
        4,
        archived_ids[0],
        archived_ids[-1],
    )
    assert not AuditEntry.objects.filter(pk__in=archived_ids).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('audit_y2025m01')")
        assert cursor.fetchone()[0] is None
    with default_storage.open(record.storage_name, "rb") as handle:
        lines = gzip.decompress(handle.read()).decode().splitlines()
    assert '"format": "acountee-audit-archive/1"' in lines[0] and '"head": {' in lines[0]
    assert sum(line.startswith('{"e": ') for line in lines) == 4
    assert any(line.startswith('{"s": ') for line in lines)
    # The archive itself is in the log.
    assert AuditEntry.objects.filter(action="archive_partition", record_id="audit_y2025m01").exists()

    # The live chain continues across the archived boundary.
    TeamFactory()
    full = verify_chain(full=True)
    assert full.ok, full.broken
    assert full.archives == 1 and full.checked == AuditEntry.objects.count() + 4
    seqs = list(AuditSeal.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    call_command("verify_audit", "--full")
    assert "1 archived months" in capsys.readouterr().out
    call_command("verify_audit")


@pytest.mark.django_db(transaction=True)
def test_a_tampered_archive_file_fails_verification_naming_it():
    TeamFactory()
    _old_month_with_entries()
    call_command("audit_archive", "--before", "2025-02", "--drop")
    record = AuditArchive.objects.get()
    with default_storage.open(record.storage_name, "rb") as handle:
        text = gzip.decompress(handle.read()).decode()
    tampered = gzip.compress(text.replace('"actor": "unknown"', '"actor": "mallory"', 1).encode())
    # Replace the stored bytes where they live (the database file store here; on S3, an edited object).
    file_id = int(record.storage_name.split("/", 1)[0])
    with superuser_connection() as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute(
            "UPDATE files SET content = %s, size = %s, sha256 = %s WHERE id = %s",
            [tampered, len(tampered), hashlib.sha256(tampered).hexdigest(), file_id],
        )

    for args in (["--full"], []):
        with pytest.raises(CommandError) as excinfo:
            call_command("verify_audit", *args)
        assert excinfo.value.returncode == 1
        assert "archive_digest" in str(excinfo.value) and record.storage_name in str(excinfo.value)

    # Even with a matching digest recorded (the record re-signed is impossible without the key):
    AuditArchive.objects.filter(pk=record.pk).update(digest="0" * 64)
    problems = {b.problem for b in verify_chain(full=True).broken}
    assert "archive_forged" in problems
