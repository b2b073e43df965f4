"""Recompute the audit log's checksums and its chain of seals.

Three set-based scans inside PostgreSQL (sha256 in the database, no entry travels to Python
unless broken): every entry against its own checksum; every seal against the entries it
covers (count, id range, digest of their checksums), against the previous seal (link,
consecutive positions) and, for unkeyed (version 1) seals, against its own checksum; and
entries no seal covers. Then, in Python, every keyed seal's HMAC with AUDIT_CHAIN_KEY (the
key is never sent to the database for this, and a superuser who replaced functions there
cannot fake it), unkeyed seals that no keyed seal follows, and optionally the anchors
recorded outside the database by `audit_anchor` (audit/anchors.py).

Incremental by default (`verify_audit`): from the latest checkpoint (`audit_checkpoints`, a
seal position and its checksum, HMAC-signed, written by verify_audit after every clean pass) to
the head — the seals after it, their entries, entries above the checkpoint's id floor, and the
checkpoint's seal still carrying its checksum. `full=True` (`--full`) recomputes everything,
including the archived months, read back from their files (audit/archive.py). Editing an entry
from before the checkpoint is found by a full run only (docs/audit.md).
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection, transaction

from audit.chain import (
    SEAL_KEYED,
    SEAL_UNKEYED,
    configured_key,
    entry_digest_sql,
    keyed_checksum,
    seal_checksum_sql,
    seal_content,
)


@dataclass(frozen=True)
class BrokenEntry:
    id: int | None
    seal_seq: int | None
    problem: str
    detail: str = ""  # e.g. the archive file's name


@dataclass(frozen=True)
class VerificationResult:
    checked: int
    seals: int
    head_seq: int | None
    head_checksum: str
    broken: list[BrokenEntry]
    full: bool = True
    from_seq: int = 0  # the checkpoint's seal (0: from the start)
    seals_checked: int = 0
    archives: int = 0
    seconds: float = 0.0
    checkpoint: int | None = field(default=None)  # id of the checkpoint written

    @property
    def ok(self) -> bool:
        return not self.broken


PROBLEMS = {
    "content": "its checksum does not match its content (edited)",
    "entries": "the entries of this transaction's seal changed (an entry deleted, added or its checksum rewritten)",
    "seal": "the seal's own checksum does not match (seal edited)",
    "missing": "the seal before it is missing (deleted)",
    "link": "its previous-checksum does not match the seal before it (chain rewritten)",
    "unsealed": "no seal covers it (inserted with the triggers disabled)",
    "unkeyed": "sealed without AUDIT_CHAIN_KEY and no keyed seal follows: a log re-chained in SQL looks"
    " like this (so does a write from psql, until the application writes again)",
    "anchor_forged": "an anchor line is not signed with this AUDIT_CHAIN_KEY (edited, or another key)",
    "anchor_missing": "an anchored seal is gone (the log was truncated or re-chained)",
    "anchor_changed": "an anchored seal has another checksum now (the chain was rewritten)",
    "checkpoint_forged": "the latest verification checkpoint is not signed with this AUDIT_CHAIN_KEY"
    " (ignored: verified in full)",
    "checkpoint_changed": "the checkpoint's seal is gone or has another checksum (the chain before it was rewritten)",
    "archive_forged": "an archive record is not signed with this AUDIT_CHAIN_KEY (edited)",
    "archive_missing": "an archived month's file is missing from the file store",
    "archive_digest": "an archived month's file does not match its recorded sha256 (file edited or replaced)",
    "archive_rows": "an archived month's file does not hold the recorded entries",
}

ARCHIVED = "pg_temp.audit_archived"
COLUMNS = (
    "id, action, table_name, record_id, before, after, actor, actor_user_id, occurred_at, ip, user_agent,"
    " metadata, checksum, txn"
)


def _source(with_archives: bool) -> str:
    if not with_archives:
        return "audit"
    return f"(SELECT {COLUMNS} FROM audit UNION ALL SELECT {COLUMNS} FROM {ARCHIVED})"  # noqa: S608 - constants


def entries_sql(src: str) -> str:
    return f"""
SELECT a.id FROM {src} a WHERE a.id >= %(floor)s AND a.checksum <> {entry_digest_sql("a")}
 ORDER BY a.id LIMIT %(limit)s
"""  # noqa: S608 - built from constants only


def seals_sql(src: str) -> str:
    """Seals after `since` (all for 0): their entries, their link to the seal before (the
    checkpoint's seal for the first), unkeyed seals' own checksum."""
    return f"""
WITH covered AS (
    SELECT s.seq, count(a.id) AS n, min(a.id) AS f, max(a.id) AS l,
           encode(sha256(convert_to(COALESCE(string_agg(a.checksum, '' ORDER BY a.id), ''), 'UTF8')), 'hex') AS d
      FROM audit_seals s
      LEFT JOIN {src} a ON a.txn = s.txn AND a.id BETWEEN s.first_id AND s.last_id AND a.id >= %(floor)s
     WHERE s.seq > %(since)s
     GROUP BY s.seq
), chain AS (
    SELECT s.seq, s.first_id, s.checksum, s.prev_checksum,
           CASE WHEN s.version = {SEAL_UNKEYED} THEN {seal_checksum_sql("s", "s.prev_checksum")}
                ELSE s.checksum END AS computed,  -- keyed seals: checked in Python
           lag(s.checksum) OVER w AS real_prev, lag(s.seq) OVER w AS prev_seq,
           (c.n <> s.entry_count OR c.f IS DISTINCT FROM s.first_id OR c.l IS DISTINCT FROM s.last_id
            OR c.d <> s.entries_digest) AS entries_changed
      FROM audit_seals s LEFT JOIN covered c ON c.seq = s.seq
     WHERE s.seq >= %(since)s
    WINDOW w AS (ORDER BY s.seq)
)
SELECT seq, first_id,
       CASE WHEN computed <> checksum THEN 'seal'
            WHEN seq <> COALESCE(prev_seq, 0) + 1 THEN 'missing'
            WHEN prev_checksum <> COALESCE(real_prev, '') THEN 'link'
            WHEN entries_changed THEN 'entries'
       END AS problem
  FROM chain
 WHERE seq > %(since)s
   AND (computed <> checksum OR seq <> COALESCE(prev_seq, 0) + 1 OR prev_checksum <> COALESCE(real_prev, '')
        OR entries_changed)
 ORDER BY seq LIMIT %(limit)s
"""  # noqa: S608 - built from constants only


def unsealed_sql(src: str) -> str:
    return f"""
SELECT a.id FROM {src} a
 WHERE a.id >= %(floor)s
   AND NOT EXISTS (SELECT 1 FROM audit_seals s WHERE s.txn = a.txn AND a.id BETWEEN s.first_id AND s.last_id)
 ORDER BY a.id LIMIT %(limit)s
"""  # noqa: S608 - built from constants only


KEYED_SEALS_SQL = f"""
SELECT seq, txn, first_id, last_id, entry_count, entries_digest, prev_checksum, checksum
  FROM audit_seals WHERE version = {SEAL_KEYED} AND seq > %s ORDER BY seq
"""  # noqa: S608 - built from constants only

UNKEYED_TAIL_SQL = f"""
SELECT seq, first_id FROM audit_seals
 WHERE version <> {SEAL_KEYED}
   AND seq > COALESCE((SELECT max(seq) FROM audit_seals WHERE version = {SEAL_KEYED}), 0)
 ORDER BY seq LIMIT %s
"""  # noqa: S608 - built from constants only


def _keyed_seals(key: str, limit: int, since: int) -> tuple[list[BrokenEntry], int]:
    broken: list[BrokenEntry] = []
    seen = 0
    with connection.chunked_cursor() as cursor:
        cursor.execute(KEYED_SEALS_SQL, [since])
        while len(broken) < limit:
            rows = cursor.fetchmany(2000)
            if not rows:
                break
            seen += len(rows)
            for seq, txn, first_id, last_id, count, digest, prev, checksum in rows:
                content = seal_content(
                    seq=seq, txn=txn, first_id=first_id, last_id=last_id, entry_count=count, entries_digest=digest
                )
                if not key or keyed_checksum(key, prev + content) != checksum:
                    broken.append(BrokenEntry(id=first_id, seal_seq=seq, problem="seal"))
    return broken[:limit], seen


def checkpoint_mac(key: str, *, seal_seq: int, seal_checksum: str, max_entry_id: int, entries: int) -> str:
    return keyed_checksum(
        key, f"acountee-audit-checkpoint\n{int(seal_seq)}\n{seal_checksum}\n{int(max_entry_id)}\n{int(entries)}"
    )


def _latest_checkpoint(key: str) -> tuple[Any, list[BrokenEntry]]:
    """The newest checkpoint whose MAC verifies (None: verify from the start), and a problem if
    the newest one does not verify."""
    from audit.models import AuditCheckpoint

    latest = AuditCheckpoint.objects.order_by("-id").first()
    if latest is None:
        return None, []
    expected = checkpoint_mac(
        key,
        seal_seq=latest.seal_seq,
        seal_checksum=latest.seal_checksum,
        max_entry_id=latest.max_entry_id,
        entries=latest.entries,
    )
    if not key or not hmac.compare_digest(expected, latest.mac):
        return None, [BrokenEntry(id=None, seal_seq=latest.seal_seq, problem="checkpoint_forged")]
    return latest, []


def verify_chain(
    *,
    limit: int = 100,
    anchors: Path | None = None,
    full: bool = True,
    record_checkpoint: bool = False,
) -> VerificationResult:
    """Verify the log (in full, or from the latest checkpoint); with `record_checkpoint`, a
    clean pass records the head as the next checkpoint."""
    from audit.archive import check_archives

    started = time.perf_counter()
    outermost = not connection.in_atomic_block
    key = configured_key()
    with transaction.atomic(), connection.cursor() as cursor:
        if outermost:
            # One snapshot for the scans (inside a caller's transaction: the caller's).
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        # A long scan is expected here; the per-connection statement_timeout is for requests.
        cursor.execute("SET LOCAL statement_timeout = 0")
        broken: list[BrokenEntry] = []
        since, floor = 0, 0
        if not full:
            checkpoint, problems = _latest_checkpoint(key)
            broken += problems
            if checkpoint is not None:
                cursor.execute("SELECT checksum FROM audit_seals WHERE seq = %s", [checkpoint.seal_seq])
                row = cursor.fetchone()
                if row is None or row[0] != checkpoint.seal_checksum:
                    broken.append(BrokenEntry(id=None, seal_seq=checkpoint.seal_seq, problem="checkpoint_changed"))
                else:
                    since = checkpoint.seal_seq
                    cursor.execute("SELECT min(first_id) FROM audit_seals WHERE seq > %s", [since])
                    first_after = cursor.fetchone()[0]
                    floor = min(checkpoint.max_entry_id + 1, first_after or checkpoint.max_entry_id + 1)
        full_run = since == 0
        archive_problems, _archived_rows, archives = check_archives(key, load=full_run)
        broken += archive_problems
        src = _source(with_archives=full_run and archives > 0)
        params = {"floor": floor, "since": since, "limit": limit}
        cursor.execute(f"SELECT count(*), COALESCE(max(id), 0) FROM {src} a WHERE a.id >= %(floor)s", params)  # noqa: S608
        checked, max_id = cursor.fetchone()
        cursor.execute(entries_sql(src), params)
        broken += [BrokenEntry(id=row[0], seal_seq=None, problem="content") for row in cursor.fetchall()]
        cursor.execute(seals_sql(src), params)
        broken += [BrokenEntry(id=row[1], seal_seq=row[0], problem=row[2]) for row in cursor.fetchall()]
        cursor.execute(unsealed_sql(src), params)
        broken += [BrokenEntry(id=row[0], seal_seq=None, problem="unsealed") for row in cursor.fetchall()]
        keyed_broken, _seen = _keyed_seals(key, limit, since)
        broken += keyed_broken
        if key:
            cursor.execute(UNKEYED_TAIL_SQL, [limit])
            broken += [BrokenEntry(id=row[1], seal_seq=row[0], problem="unkeyed") for row in cursor.fetchall()]
        if anchors is not None:
            from audit.anchors import check_anchors

            broken += check_anchors(anchors, key=key)
        cursor.execute("SELECT count(*), max(seq), count(*) FILTER (WHERE seq > %s) FROM audit_seals", [since])
        seals, head_seq, seals_checked = cursor.fetchone()
        cursor.execute("SELECT checksum FROM audit_seals ORDER BY seq DESC LIMIT 1")
        head = cursor.fetchone()
        written = None
        if record_checkpoint and not broken and key and head_seq:
            written = _record_checkpoint(
                key, seal_seq=head_seq, seal_checksum=head[0], max_entry_id=max_id, entries=checked, full=full_run
            )
        cursor.execute(f"DROP TABLE IF EXISTS {ARCHIVED}")
    return VerificationResult(
        checked=checked,
        seals=seals,
        head_seq=head_seq,
        head_checksum=head[0] if head else "",
        broken=broken,
        full=full_run,
        from_seq=since,
        seals_checked=seals_checked,
        archives=archives,
        seconds=time.perf_counter() - started,
        checkpoint=written,
    )


def _record_checkpoint(
    key: str, *, seal_seq: int, seal_checksum: str, max_entry_id: int, entries: int, full: bool
) -> int:
    from django.utils import timezone

    from audit.models import AuditCheckpoint

    # Never below the previous checkpoint's floor (an incremental pass sees only the new entries).
    previous = AuditCheckpoint.objects.order_by("-id").values_list("max_entry_id", flat=True).first() or 0
    max_entry_id = max(max_entry_id, previous)
    return AuditCheckpoint.objects.create(
        seal_seq=seal_seq,
        seal_checksum=seal_checksum,
        max_entry_id=max_entry_id,
        entries=entries,
        full=full,
        verified_at=timezone.now(),
        mac=checkpoint_mac(
            key, seal_seq=seal_seq, seal_checksum=seal_checksum, max_entry_id=max_entry_id, entries=entries
        ),
    ).pk
