"""Recompute the audit log's checksums and its chain of seals inside PostgreSQL.

Three set-based scans (sha256 in the database, no row travels to Python unless broken):
every entry against its own checksum; every seal against the entries it covers (count,
id range, digest of their checksums) and against the previous seal (link, consecutive
positions); and entries no seal covers.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, transaction

from audit.chain import entry_digest_sql, seal_checksum_sql


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
           {seal_checksum_sql("s", "s.prev_checksum")} AS computed,
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


def verify_chain(*, limit: int = 100) -> VerificationResult:
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
