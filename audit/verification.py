"""Recompute the audit log's checksums and its chain of seals.

Three set-based scans inside PostgreSQL (sha256 in the database, no entry travels to Python
unless broken): every entry against its own checksum; every seal against the entries it
covers (count, id range, digest of their checksums), against the previous seal (link,
consecutive positions) and, for unkeyed (version 1) seals, against its own checksum; and
entries no seal covers. Then, in Python, every keyed seal's HMAC with AUDIT_CHAIN_KEY (the
key is never sent to the database for this, and a superuser who replaced functions there
cannot fake it), unkeyed seals that no keyed seal follows, and optionally the anchors
recorded outside the database by `audit_anchor` (audit/anchors.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True)
class VerificationResult:
    checked: int
    seals: int
    head_seq: int | None
    head_checksum: str
    broken: list[BrokenEntry]

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
}

ENTRIES_SQL = f"""
SELECT a.id FROM audit a WHERE a.checksum <> {entry_digest_sql("a")} ORDER BY a.id LIMIT %s
"""  # noqa: S608 - built from constants only

SEALS_SQL = f"""
WITH covered AS (
    SELECT s.seq, count(a.id) AS n, min(a.id) AS f, max(a.id) AS l,
           encode(sha256(convert_to(COALESCE(string_agg(a.checksum, '' ORDER BY a.id), ''), 'UTF8')), 'hex') AS d
      FROM audit_seals s
      LEFT JOIN audit a ON a.txn = s.txn AND a.id BETWEEN s.first_id AND s.last_id
     GROUP BY s.seq
), chain AS (
    SELECT s.seq, s.first_id, s.checksum, s.prev_checksum,
           CASE WHEN s.version = {SEAL_UNKEYED} THEN {seal_checksum_sql("s", "s.prev_checksum")}
                ELSE s.checksum END AS computed,  -- keyed seals: checked in Python
           lag(s.checksum) OVER w AS real_prev, lag(s.seq) OVER w AS prev_seq,
           (c.n <> s.entry_count OR c.f IS DISTINCT FROM s.first_id OR c.l IS DISTINCT FROM s.last_id
            OR c.d <> s.entries_digest) AS entries_changed
      FROM audit_seals s JOIN covered c ON c.seq = s.seq
    WINDOW w AS (ORDER BY s.seq)
)
SELECT seq, first_id,
       CASE WHEN computed <> checksum THEN 'seal'
            WHEN seq <> COALESCE(prev_seq, 0) + 1 THEN 'missing'
            WHEN prev_checksum <> COALESCE(real_prev, '') THEN 'link'
            WHEN entries_changed THEN 'entries'
       END AS problem
  FROM chain
 WHERE computed <> checksum OR seq <> COALESCE(prev_seq, 0) + 1 OR prev_checksum <> COALESCE(real_prev, '')
       OR entries_changed
 ORDER BY seq LIMIT %s
"""  # noqa: S608 - built from constants only

UNSEALED_SQL = """
SELECT a.id FROM audit a
 WHERE NOT EXISTS (SELECT 1 FROM audit_seals s WHERE s.txn = a.txn AND a.id BETWEEN s.first_id AND s.last_id)
 ORDER BY a.id LIMIT %s
"""


KEYED_SEALS_SQL = f"""
SELECT seq, txn, first_id, last_id, entry_count, entries_digest, prev_checksum, checksum
  FROM audit_seals WHERE version = {SEAL_KEYED} ORDER BY seq
"""  # noqa: S608 - built from constants only

UNKEYED_TAIL_SQL = f"""
SELECT seq, first_id FROM audit_seals
 WHERE version <> {SEAL_KEYED}
   AND seq > COALESCE((SELECT max(seq) FROM audit_seals WHERE version = {SEAL_KEYED}), 0)
 ORDER BY seq LIMIT %s
"""  # noqa: S608 - built from constants only


def _keyed_seals(key: str, limit: int) -> list[BrokenEntry]:
    broken: list[BrokenEntry] = []
    with connection.chunked_cursor() as cursor:
        cursor.execute(KEYED_SEALS_SQL)
        while len(broken) < limit:
            rows = cursor.fetchmany(2000)
            if not rows:
                break
            for seq, txn, first_id, last_id, count, digest, prev, checksum in rows:
                content = seal_content(
                    seq=seq, txn=txn, first_id=first_id, last_id=last_id, entry_count=count, entries_digest=digest
                )
                if not key or keyed_checksum(key, prev + content) != checksum:
                    broken.append(BrokenEntry(id=first_id, seal_seq=seq, problem="seal"))
    return broken[:limit]


def verify_chain(*, limit: int = 100, anchors: Path | None = None) -> VerificationResult:
    outermost = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        if outermost:
            # One snapshot for the three scans (inside a caller's transaction: the caller's).
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        # A long scan is expected here; the per-connection statement_timeout is for requests.
        cursor.execute("SET LOCAL statement_timeout = 0")
        cursor.execute("SELECT count(*) FROM audit")
        checked = cursor.fetchone()[0]
        broken: list[BrokenEntry] = []
        cursor.execute(ENTRIES_SQL, [limit])
        broken += [BrokenEntry(id=row[0], seal_seq=None, problem="content") for row in cursor.fetchall()]
        cursor.execute(SEALS_SQL, [limit])
        broken += [BrokenEntry(id=row[1], seal_seq=row[0], problem=row[2]) for row in cursor.fetchall()]
        cursor.execute(UNSEALED_SQL, [limit])
        broken += [BrokenEntry(id=row[0], seal_seq=None, problem="unsealed") for row in cursor.fetchall()]
        key = configured_key()
        broken += _keyed_seals(key, limit)
        if key:
            cursor.execute(UNKEYED_TAIL_SQL, [limit])
            broken += [BrokenEntry(id=row[1], seal_seq=row[0], problem="unkeyed") for row in cursor.fetchall()]
        if anchors is not None:
            from audit.anchors import check_anchors

            broken += check_anchors(anchors, key=key)
        cursor.execute("SELECT count(*), max(seq) FROM audit_seals")
        seals, head_seq = cursor.fetchone()
        cursor.execute("SELECT checksum FROM audit_seals ORDER BY seq DESC LIMIT 1")
        head = cursor.fetchone()
    return VerificationResult(
        checked=checked,
        seals=seals,
        head_seq=head_seq,
        head_checksum=head[0] if head else "",
        broken=broken,
    )
