"""Archiving old months of the audit log (`manage.py audit_archive --before YYYY-MM`).

Each monthly partition before the given month is written to the file store (Django's default
storage: the database's `files` store, or S3 when FILE_STORAGE=s3) as gzip-compressed JSON
lines, recorded in `audit_archives` (with the file's sha256 and an HMAC over the record), then
DETACHed from `audit` (and, with --drop, dropped). The seals stay in `audit_seals`, so the hash
chain runs on unbroken across the archived months.

The file, `audit-archive/audit_yYYYYmMM.jsonl.gz`:

    {"format": "acountee-audit-archive/1", "month": "2026-01", "partition": ..., "rows": N,
     "first_id": ..., "last_id": ..., "first_seal": ..., "last_seal": ..., "head": {seal}}
    {"e": {<entry: every column of audit, as row_to_json writes it>}}       (N lines, in id order)
    {"s": {<seal: every column of audit_seals>}}                             (the seals covering them)

`head` is the last seal covering the month (the chain head at the month's end): with the
seals' lines, the file can be checked on its own against a copy of the key. `verify_audit`
checks every archive's record (HMAC) and file (sha256); a full run also loads the rows back
(a temporary table) and verifies them with the live ones: content checksums, each seal's
entries — a seal may cover entries on both sides of the boundary — and the chain.

Only verified months are archived: the command first verifies the log and records a checkpoint,
and archives a month only when every entry in it is covered by a seal at or before that
checkpoint (so an incremental run never needs archived rows).
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import io
import json
import tempfile
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from audit.chain import configured_key, keyed_checksum
from audit.partitions import partitions

FORMAT = "acountee-audit-archive/1"
FOLDER = "audit-archive"


class ArchiveRefused(Exception):
    """Nothing archived (operator-facing, from the command)."""


@dataclass(frozen=True)
class Archived:
    month: date
    partition: str
    storage_name: str
    rows: int
    digest: str
    dropped: bool


def archive_mac(key: str, record: Any) -> str:
    return keyed_checksum(
        key,
        "acountee-audit-archive\n"
        + "\n".join(
            str(v)
            for v in (
                record.month.isoformat(),
                record.partition,
                record.storage_name,
                record.rows,
                record.first_id,
                record.last_id,
                record.first_seal,
                record.last_seal,
                record.digest,
                record.size,
            )
        ),
    )


def _seal_columns() -> str:
    return "seq, txn, first_id, last_id, entry_count, entries_digest, prev_checksum, checksum, sealed_at, version"


def export_partition(partition: str, out: IO[bytes], *, month: date) -> dict[str, Any]:
    """Write the partition's file to `out`; returns its header. Runs in the caller's transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), min(id), max(id) FROM ONLY {partition}"  # noqa: S608 - catalogue name
        )
        rows, first_id, last_id = cursor.fetchone()
        cursor.execute(
            f"""
            SELECT min(s.seq), max(s.seq) FROM audit_seals s
             WHERE EXISTS (SELECT 1 FROM ONLY {partition} a
                            WHERE a.txn = s.txn AND a.id BETWEEN s.first_id AND s.last_id)
            """  # noqa: S608 - catalogue name
        )
        first_seal, last_seal = cursor.fetchone()
        cursor.execute(
            f"SELECT row_to_json(s)::text FROM (SELECT {_seal_columns()} FROM audit_seals WHERE seq = %s) s",  # noqa: S608
            [last_seal],
        )
        head = cursor.fetchone()
    header = {
        "format": FORMAT,
        "month": month.strftime("%Y-%m"),
        "partition": partition,
        "rows": rows,
        "first_id": first_id,
        "last_id": last_id,
        "first_seal": first_seal,
        "last_seal": last_seal,
        "head": json.loads(head[0]) if head else None,
    }
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        gz.write((json.dumps(header) + "\n").encode())
        with connection.chunked_cursor() as cursor:
            cursor.execute(
                f"SELECT '{{\"e\": ' || row_to_json(a)::text || '}}' FROM ONLY {partition} a ORDER BY a.id"  # noqa: S608
            )
            while batch := cursor.fetchmany(5000):
                gz.write("".join(line + "\n" for (line,) in batch).encode())
        if first_seal is not None:
            with connection.chunked_cursor() as cursor:
                cursor.execute(
                    f"SELECT '{{\"s\": ' || row_to_json(s)::text || '}}' FROM (SELECT {_seal_columns()}"  # noqa: S608
                    f" FROM audit_seals s WHERE s.seq BETWEEN %s AND %s AND EXISTS (SELECT 1 FROM ONLY {partition} a"
                    " WHERE a.txn = s.txn AND a.id BETWEEN s.first_id AND s.last_id) ORDER BY s.seq) s",
                    [first_seal, last_seal],
                )
                while batch := cursor.fetchmany(5000):
                    gz.write("".join(line + "\n" for (line,) in batch).encode())
    return header


def _sha256(handle: IO[bytes]) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    while chunk := handle.read(1 << 20):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def archive_before(before: date, *, drop: bool = False) -> list[Archived]:
    """Archive every attached monthly partition of a month before `before` (at most the month
    before the current one). Must run as the tables' owner (DETACH): the command does."""
    from audit.models import AuditArchive
    from audit.services import audit_log
    from audit.verification import verify_chain

    key = configured_key()
    if not key:
        raise ArchiveRefused("AUDIT_CHAIN_KEY is required to archive the audit log.")
    this_month = timezone.now().date().replace(day=1)
    before = min(before.replace(day=1), this_month)
    result = verify_chain(full=False, record_checkpoint=True)
    if not result.ok or result.head_seq is None:
        raise ArchiveRefused("The audit log does not verify: nothing is archived (run verify_audit).")
    checkpoint_seq = result.head_seq
    done: list[Archived] = []
    for part in partitions():
        if part.month is None or part.month >= before:
            continue
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {part.name} IN SHARE MODE")
            cursor.execute(
                f"SELECT count(*) FROM ONLY {part.name} a WHERE NOT EXISTS (SELECT 1 FROM audit_seals s"  # noqa: S608
                " WHERE s.txn = a.txn AND a.id BETWEEN s.first_id AND s.last_id AND s.seq <= %s)",
                [checkpoint_seq],
            )
            if cursor.fetchone()[0]:
                continue  # entries sealed after the checkpoint: archived next time
            with tempfile.SpooledTemporaryFile(max_size=64 << 20) as spool:
                header = export_partition(part.name, spool, month=part.month)
                spool.seek(0)
                digest, size = _sha256(spool)
                spool.seek(0)
                name = default_storage.save(f"{FOLDER}/{part.name}.jsonl.gz", File(spool))
            with default_storage.open(name, "rb") as stored:
                if _sha256(stored)[0] != digest:
                    raise ArchiveRefused(f"The archive file {name} was not stored intact.")
            record = AuditArchive(
                month=part.month,
                partition=part.name,
                storage_name=name,
                rows=header["rows"],
                first_id=header["first_id"],
                last_id=header["last_id"],
                first_seal=header["first_seal"],
                last_seal=header["last_seal"],
                digest=digest,
                size=size,
                archived_at=timezone.now(),
                dropped=drop,
            )
            record.mac = archive_mac(key, record)
            record.save()
            audit_log(
                action="archive_partition",
                table="audit",
                record_id=part.name,
                actor=None,
                metadata={"month": header["month"], "rows": header["rows"], "file": name, "sha256": digest},
            )
            cursor.execute(f"ALTER TABLE audit DETACH PARTITION {part.name}")
            if drop:
                cursor.execute(f"DROP TABLE {part.name}")
        done.append(Archived(part.month, part.name, name, header["rows"], digest, drop))
    return done


def check_archives(key: str, *, load: bool) -> tuple[list[Any], int, int]:
    """(problems, rows loaded, archives) for every archived month: the record's HMAC and the
    file's sha256; with `load`, the rows go into the temporary table pg_temp.audit_archived for
    the full verification's scans. Runs in verify_chain's transaction."""
    from audit.models import AuditArchive
    from audit.verification import ARCHIVED, COLUMNS, BrokenEntry

    records = list(AuditArchive.objects.order_by("month"))
    if not records:
        return [], 0, 0
    problems: list[BrokenEntry] = []
    loaded = 0
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {ARCHIVED}")
        if load:
            cursor.execute(
                f"CREATE TEMP TABLE audit_archived ON COMMIT DROP AS SELECT {COLUMNS} FROM audit WITH NO DATA"  # noqa: S608
            )
    for record in records:
        if not key or not hmac.compare_digest(archive_mac(key, record), record.mac):
            problems.append(
                BrokenEntry(id=record.first_id, seal_seq=None, problem="archive_forged", detail=record.storage_name)
            )
            continue
        try:
            handle = default_storage.open(record.storage_name, "rb")
        except (FileNotFoundError, OSError):
            problems.append(
                BrokenEntry(id=record.first_id, seal_seq=None, problem="archive_missing", detail=record.storage_name)
            )
            continue
        with handle:
            data = handle.read()
        if hashlib.sha256(data).hexdigest() != record.digest:
            problems.append(
                BrokenEntry(id=record.first_id, seal_seq=None, problem="archive_digest", detail=record.storage_name)
            )
            continue
        if load:
            count = _load(data)
            loaded += count
            if count != record.rows:
                problems.append(
                    BrokenEntry(id=record.first_id, seal_seq=None, problem="archive_rows", detail=record.storage_name)
                )
    return problems, loaded, len(records)


def _load(data: bytes) -> int:
    """Copy the file's entries into pg_temp.audit_archived; returns how many."""
    count = 0
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS audit_archive_lines (line text) ON COMMIT DROP")
        cursor.execute("TRUNCATE audit_archive_lines")
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
            raw = cursor.cursor if hasattr(cursor, "cursor") else cursor
            with raw.copy("COPY audit_archive_lines (line) FROM STDIN") as copy:
                for number, line in enumerate(gz):
                    if number == 0 or not line.startswith(b'{"e": '):
                        continue
                    copy.write_row((line.decode().rstrip("\n"),))
                    count += 1
        cursor.execute(
            "INSERT INTO pg_temp.audit_archived SELECT r.* FROM audit_archive_lines l,"
            " json_populate_record(NULL::pg_temp.audit_archived, (l.line::json)->'e') r"
        )
    return count
