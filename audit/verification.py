"""Recompute the audit hash chain inside PostgreSQL (one scan, sha256 in the database).

Each sealed entry is checked on its own (its checksum from its stored `prev_checksum` and its
content) and against its neighbour (`prev_checksum` equals the previous entry's checksum, and
positions are consecutive), so the whole check is one set-based query with a window function
instead of a sequential walk in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, transaction

from audit.chain import checksum_sql, digest_sql


@dataclass(frozen=True)
class BrokenEntry:
    id: int
    chain_seq: int | None
    problem: str


@dataclass(frozen=True)
class VerificationResult:
    checked: int
    head_seq: int | None
    head_checksum: str
    broken: list[BrokenEntry]

    @property
    def ok(self) -> bool:
        return not self.broken


PROBLEMS = {
    "content": "its checksum does not match its content (edited)",
    "missing": "the entry before it in the chain is missing (deleted)",
    "link": "its previous-checksum does not match the entry before it (chain rewritten)",
    "unsealed": "it was never sealed into the chain (inserted with the triggers disabled)",
}

VERIFY_SQL = f"""
WITH chain AS (
    SELECT a.id, a.chain_seq, a.checksum, a.prev_checksum,
           lag(a.checksum) OVER w AS real_prev,
           lag(a.chain_seq) OVER w AS prev_seq,
           {checksum_sql("a.prev_checksum", digest_sql("a.chain_seq"))} AS computed
      FROM audit a
     WHERE a.chain_seq IS NOT NULL
    WINDOW w AS (ORDER BY a.chain_seq)
), checked AS (
    SELECT id, chain_seq,
           CASE WHEN computed <> checksum THEN 'content'
                WHEN chain_seq <> COALESCE(prev_seq, 0) + 1 THEN 'missing'
                WHEN prev_checksum <> COALESCE(real_prev, '') THEN 'link'
           END AS problem
      FROM chain
)
SELECT id, chain_seq, problem FROM checked WHERE problem IS NOT NULL
 ORDER BY chain_seq LIMIT %s
"""  # noqa: S608 - built from constants only

UNSEALED_SQL = "SELECT id FROM audit WHERE chain_seq IS NULL ORDER BY id LIMIT %s"
HEAD_SQL = "SELECT chain_seq, checksum FROM audit WHERE chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1"


def verify_chain(*, limit: int = 100) -> VerificationResult:
    with transaction.atomic(), connection.cursor() as cursor:
        # A long scan is expected here; the per-connection statement_timeout is for requests.
        cursor.execute("SET LOCAL statement_timeout = 0")
        cursor.execute("SELECT count(*) FROM audit WHERE chain_seq IS NOT NULL")
        checked = cursor.fetchone()[0]
        cursor.execute(VERIFY_SQL, [limit])
        broken = [BrokenEntry(id=row[0], chain_seq=row[1], problem=row[2]) for row in cursor.fetchall()]
        cursor.execute(UNSEALED_SQL, [limit])
        broken += [BrokenEntry(id=row[0], chain_seq=None, problem="unsealed") for row in cursor.fetchall()]
        cursor.execute(HEAD_SQL)
        head = cursor.fetchone()
    return VerificationResult(
        checked=checked, head_seq=head[0] if head else None, head_checksum=head[1] if head else "", broken=broken,
    )
