"""Tamper evidence that survives a superuser (issue #17).

Seals are keyed with AUDIT_CHAIN_KEY, which the database never holds: a superuser with psql
can rewrite entries and re-chain every seal, but only with plain sha256 (or a key of their
own), and `verify_audit` tells. Anchors written outside the database by `audit_anchor` tell
when the end of the log was cut off or rewritten."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from audit.chain import SEAL_KEYED, SEAL_UNKEYED, configured_key, entry_digest_sql, keyed_checksum, seal_content
from audit.models import AuditEntry, AuditSeal
from audit.verification import verify_chain
from tests.accounts.factories import TeamFactory
from tests.audit.helpers import superuser_connection, superuser_sql

pytestmark = pytest.mark.django_db(transaction=True)

# What an intruder with psql and no key can do: edit an entry, make its checksum and its
# seal's digest match again, and recompute every link of the chain with sha256.
RECHAIN_SQL = f"""
SET LOCAL session_replication_role = replica;
UPDATE audit SET actor = 'mallory' WHERE id = %(victim)s;
UPDATE audit a SET checksum = {entry_digest_sql("a")} WHERE id = %(victim)s;
DO $$
DECLARE r record; prev text := ''; d text;
BEGIN
    FOR r IN SELECT * FROM audit_seals ORDER BY seq LOOP
        SELECT encode(sha256(convert_to(string_agg(a.checksum, '' ORDER BY a.id), 'UTF8')), 'hex') INTO d
          FROM audit a WHERE a.txn = r.txn AND a.id BETWEEN r.first_id AND r.last_id;
        UPDATE audit_seals SET entries_digest = d, prev_checksum = prev, version = %(version)s,
               checksum = encode(sha256(convert_to(prev || jsonb_build_array(r.seq, r.txn, r.first_id, r.last_id,
                                 r.entry_count, d)::text, 'UTF8')), 'hex')
         WHERE seq = r.seq RETURNING checksum INTO prev;
    END LOOP;
END $$;
"""


def _teams(n: int) -> list[AuditEntry]:
    for _ in range(n):
        TeamFactory()
    return list(AuditEntry.objects.filter(table_name="teams").order_by("id"))


def _rechain(victim: int, version: int) -> None:
    with superuser_connection() as conn, conn.transaction():
        conn.execute(RECHAIN_SQL.replace("%(victim)s", str(int(victim))).replace("%(version)s", str(int(version))))


def _problems() -> set[str]:
    return {b.problem for b in verify_chain().broken}


def test_new_seals_are_hmac_keyed_with_a_key_the_database_does_not_hold():
    mark = AuditSeal.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    _teams(2)
    seals = list(AuditSeal.objects.filter(seq__gt=mark).order_by("seq"))
    assert seals and all(s.version == SEAL_KEYED for s in seals)
    key = configured_key()
    for seal in seals:
        content = seal_content(
            seq=seal.seq,
            txn=seal.txn,
            first_id=seal.first_id,
            last_id=seal.last_id,
            entry_count=seal.entry_count,
            entries_digest=seal.entries_digest,
        )
        assert seal.checksum == keyed_checksum(key, seal.prev_checksum + content)
    # A session of its own (psql) has no key: nothing in the database gives it away.
    assert superuser_sql("SELECT current_setting('acountee.audit_key', true)") in ([(None,)], [("",)])
    assert verify_chain().ok


def test_audit_tamper_evident_rechaining_with_plain_sha256_after_editing_an_entry_is_detected(capsys):
    victim = _teams(3)[1]
    call_command("verify_audit")
    _rechain(victim.pk, SEAL_UNKEYED)

    # Every entry matches its checksum, every seal its entries and its link: only the key tells.
    result = verify_chain()
    assert not result.ok
    assert _problems() == {"unkeyed"}
    with pytest.raises(CommandError) as excinfo:
        call_command("verify_audit")
    assert excinfo.value.returncode == 1
    assert "sealed without AUDIT_CHAIN_KEY" in capsys.readouterr().err


def test_rechaining_while_claiming_keyed_seals_is_detected():
    victim = _teams(3)[1]
    _rechain(victim.pk, SEAL_KEYED)
    result = verify_chain()
    assert not result.ok
    assert _problems() == {"seal"}


def test_a_write_from_a_session_without_the_key_is_flagged_until_the_application_seals_after_it():
    team = TeamFactory()
    superuser_sql("UPDATE teams SET name = 'renamed in psql' WHERE id = %s", [team.pk])
    head = AuditSeal.objects.order_by("-seq").first()
    assert head.version == SEAL_UNKEYED
    assert [(b.seal_seq, b.problem) for b in verify_chain().broken] == [(head.seq, "unkeyed")]
    TeamFactory()  # the application's next keyed seal covers it through its link
    assert verify_chain().ok


def test_an_anchor_recorded_before_tampering_detects_a_truncated_chain(tmp_path: Path, capsys):
    anchors = tmp_path / "anchors" / "audit.jsonl"
    _teams(2)
    call_command("audit_anchor", to=anchors)
    assert "Anchored seal #" in capsys.readouterr().out
    anchored = AuditSeal.objects.order_by("-seq").first()
    _teams(2)
    call_command("audit_anchor", to=anchors)
    call_command("verify_audit", anchors=anchors)
    assert "intact" in capsys.readouterr().out
    lines = [json.loads(line) for line in anchors.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [anchored.seq, AuditSeal.objects.order_by("-seq").first().seq]

    # Cut the log back to before the first anchor: what is left is a valid, keyed chain.
    with superuser_connection() as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute("DELETE FROM audit WHERE id >= %s", [anchored.first_id])
        conn.execute("DELETE FROM audit_seals WHERE seq >= %s", [anchored.seq])
    assert verify_chain().ok  # without anchors the cut cannot be seen
    broken = verify_chain(anchors=anchors).broken
    assert {(b.seal_seq, b.problem) for b in broken} == {(line["seq"], "anchor_missing") for line in lines}
    with pytest.raises(CommandError):
        call_command("verify_audit", anchors=anchors)
    assert "anchored seal is gone" in capsys.readouterr().err


def test_an_anchor_detects_a_chain_rewritten_from_before_it(tmp_path: Path):
    anchors = tmp_path / "audit.jsonl"
    victim = _teams(3)[0]
    call_command("audit_anchor", to=anchors)
    _rechain(victim.pk, SEAL_UNKEYED)
    assert "anchor_changed" in {b.problem for b in verify_chain(anchors=anchors).broken}


def test_an_edited_or_made_up_anchor_line_is_refused(tmp_path: Path):
    anchors = tmp_path / "audit.jsonl"
    _teams(1)
    call_command("audit_anchor", to=anchors)
    line = json.loads(anchors.read_text())
    line["checksum"] = "0" * 64
    anchors.write_text(json.dumps(line) + "\n" + "not json\n")
    assert [b.problem for b in verify_chain(anchors=anchors).broken] == ["anchor_forged", "anchor_forged"]


def test_anchoring_an_empty_log_and_a_missing_anchor_file_are_clear_errors(tmp_path: Path):
    if AuditSeal.objects.exists():
        superuser_sql("SET session_replication_role = replica; DELETE FROM audit; DELETE FROM audit_seals")
    with pytest.raises(CommandError, match="no seal yet"):
        call_command("audit_anchor", to=tmp_path / "a.jsonl")
    with pytest.raises(CommandError, match="No anchor file"):
        call_command("verify_audit", anchors=tmp_path / "missing.jsonl")
