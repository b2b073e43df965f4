"""Writes and content reads of the file store.

`stored_file_create` streams content into PostgreSQL in chunks (one binary `COPY`, the
content's length known up front from a first hashing pass), so a 100 MB upload never exists
as one Python object. `stored_file_iter_chunks` / `stored_file_open` read it back with
`substring()` in chunks; the column is `STORAGE EXTERNAL` (uncompressed), so each chunk
costs only the TOAST pages it covers.
"""

from __future__ import annotations

import hashlib
import io
import struct
import tempfile
import time
import unicodedata
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

import psycopg
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from acountee.errors import NotFoundError, ProtectedError, TooLarge, ValidationFailed
from audit.connection import apply_actor
from files.detection import detect_content_type
from files.models import StoredFile

if TYPE_CHECKING:
    from accounts.models import User

READ_CHUNK_SIZE = 1024 * 1024  # hashing / COPY pass over the upload
DOWNLOAD_CHUNK_SIZE = 1024 * 1024  # one substring() per chunk: 1 MB binary reads measured fastest
MAX_NAME_LENGTH = 255

_COPY_SQL = "COPY files (sha256, size, content_type, original_name, created_by_id, content) FROM STDIN (FORMAT BINARY)"
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_COPY_TRAILER = b"\xff\xff"


def max_file_size() -> int:
    return int(settings.FILE_MAX_SIZE)


# --- names ------------------------------------------------------------------------------------


def clean_file_name(name: str) -> str:
    """The name to keep: the last path component, NFC-normalised, trimmed to 255 characters
    (keeping the extension). Path separators are dropped (a browser may send
    `C:\\Users\\…\\hoa-don.pdf`); control characters and NUL are refused, not silently removed,
    because no genuine file name holds them."""
    if not isinstance(name, str):
        raise ValidationFailed(_("The file name is missing."), code="INVALID_FILE_NAME")
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise ValidationFailed(
            _("The file name contains control characters."), code="INVALID_FILE_NAME", details={"name": repr(name)}
        )
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if name in {"", ".", ".."}:
        raise ValidationFailed(_("The file name is empty."), code="INVALID_FILE_NAME")
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            name = stem[: MAX_NAME_LENGTH - len(ext) - 1] + "." + ext
        else:
            name = name[:MAX_NAME_LENGTH]
    return name


# --- create -------------------------------------------------------------------------------------


def _as_seekable(content: bytes | IO[bytes]) -> tuple[IO[bytes], bool]:
    """A seekable binary stream over `content`, and whether we own (must close) it."""
    if isinstance(content, bytes | bytearray | memoryview):
        return io.BytesIO(content), True
    seekable = getattr(content, "seekable", None)
    if callable(seekable) and seekable():
        return content, False
    # A pipe or socket: spool to disk (in memory up to one chunk) so we can read it twice.
    spool = tempfile.SpooledTemporaryFile(max_size=READ_CHUNK_SIZE)  # noqa: SIM115 - closed by the caller
    limit = max_file_size()
    total = 0
    while chunk := content.read(READ_CHUNK_SIZE):
        total += len(chunk)
        if total > limit:
            spool.close()
            raise _too_large(limit)
        spool.write(chunk)
    return spool, True


def _too_large(limit: int) -> TooLarge:
    return TooLarge(
        _("The file is larger than the limit of %(limit)s.") % {"limit": filesizeformat(limit)},
        details={"max_size": limit},
    )


def too_large_error() -> TooLarge:
    """The refusal of a file over FILE_MAX_SIZE (413 TOO_LARGE; details.max_size in bytes)."""
    return _too_large(max_file_size())


def _hash(stream: IO[bytes]) -> tuple[str, int]:
    stream.seek(0)
    digest = hashlib.sha256()
    size = 0
    limit = max_file_size()
    while chunk := stream.read(READ_CHUNK_SIZE):
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest(), size


def _copy_header(*, sha256: str, size: int, content_type: str, name: str, created_by_id: int | None) -> bytes:
    def text(value: str) -> bytes:
        raw = value.encode("utf-8")
        return struct.pack("!i", len(raw)) + raw

    parts = [
        _COPY_SIGNATURE,
        struct.pack("!h", 6),
        text(sha256),
        struct.pack("!iq", 8, size),
        text(content_type),
        text(name),
        struct.pack("!iq", 8, created_by_id) if created_by_id is not None else struct.pack("!i", -1),
        struct.pack("!i", size),  # the content field's length; its bytes follow in chunks
    ]
    return b"".join(parts)


def stored_file_create(*, content: bytes | IO[bytes], name: str, created_by: User | None) -> StoredFile:
    """Stores `content` (bytes or a binary file object, e.g. a Django `UploadedFile`) and
    returns its row; identical bytes return the existing row (deduplication by SHA-256;
    the first uploader's name and user are kept).

    Refuses empty content (`EMPTY_FILE`), content over `FILE_MAX_SIZE` (`TOO_LARGE`, 413)
    and names with control characters (`INVALID_FILE_NAME`). Nothing is stored on refusal.
    """
    return stored_file_store(content=content, name=name, created_by=created_by)[0]


def stored_file_store(*, content: bytes | IO[bytes], name: str, created_by: User | None) -> tuple[StoredFile, bool]:
    """`stored_file_create`, also telling whether a new row was made (False: deduplicated)."""
    clean_name = clean_file_name(name)
    stream, owned = _as_seekable(content)
    try:
        sha256, size = _hash(stream)
        if size == 0:
            raise ValidationFailed(_("The file is empty."), code="EMPTY_FILE")
        existing = StoredFile.objects.filter(sha256=sha256).first()
        if existing is not None:
            return existing, False
        content_type = detect_content_type(stream)
        header = _copy_header(
            sha256=sha256,
            size=size,
            content_type=content_type,
            name=clean_name,
            created_by_id=created_by.pk if created_by is not None else None,
        )
        try:
            with transaction.atomic():
                _copy_in(stream, header=header, sha256=sha256, size=size)
        except IntegrityError:
            # Someone stored the same bytes between our check and our insert.
            existing = StoredFile.objects.filter(sha256=sha256).first()
            if existing is None:
                raise
            return existing, False
        return StoredFile.objects.get(sha256=sha256), True
    finally:
        if owned:
            stream.close()


def stored_files_create_many(*, files: list[tuple[bytes, str]], created_by_id: int | None) -> list[int]:
    """Many small files at once (an import batch), with the same rules as `stored_file_create`:
    deduplicated by SHA-256, type detected from the bytes, names cleaned (an unusable name
    becomes "file"), empty or oversize content refused. One lookup, one COPY and one id
    fetch for the whole batch. Returns the ids in input order. Call inside a transaction:
    a refusal or a concurrent writer of the same bytes (IntegrityError) undoes it whole."""
    limit = max_file_size()
    hashes: list[str] = []
    for data, _name in files:
        if not data:
            raise ValidationFailed(_("The file is empty."), code="EMPTY_FILE")
        if len(data) > limit:
            raise _too_large(limit)
        hashes.append(hashlib.sha256(data).hexdigest())
    ids = dict(StoredFile.objects.filter(sha256__in=set(hashes)).values_list("sha256", "id"))
    missing = {sha: (data, name) for sha, (data, name) in zip(hashes, files, strict=True) if sha not in ids}
    if missing:
        apply_actor()  # COPY bypasses Django's execute wrappers, which carry the actor
        with (
            connection.wrap_database_errors,
            connection.cursor() as cursor,
            cursor.copy(
                "COPY files (sha256, size, content_type, original_name, created_by_id, content) FROM STDIN"
            ) as copy,
        ):
            for sha, (data, name) in missing.items():
                try:
                    clean_name = clean_file_name(name)
                except ValidationFailed:
                    clean_name = "file"
                content_type = detect_content_type(io.BytesIO(data))
                copy.write_row((sha, len(data), content_type, clean_name, created_by_id, data))
        ids.update(StoredFile.objects.filter(sha256__in=list(missing)).values_list("sha256", "id"))
    return [ids[sha] for sha in hashes]


def _copy_in(stream: IO[bytes], *, header: bytes, sha256: str, size: int) -> None:
    digest = hashlib.sha256()
    sent = 0
    # COPY bypasses Django's execute wrappers: hand the actor to the audit trigger ourselves.
    apply_actor()
    # psycopg's copy() is not wrapped by Django: translate its errors (UniqueViolation →
    # IntegrityError) ourselves.
    with connection.wrap_database_errors, connection.cursor() as cursor, cursor.copy(_COPY_SQL) as copy:
        copy.write(header)
        while chunk := stream.read(READ_CHUNK_SIZE):
            sent += len(chunk)
            if sent > size:
                break
            digest.update(chunk)
            copy.write(chunk)
        if sent != size or digest.hexdigest() != sha256:
            # The source changed under us: abort the COPY, store nothing.
            raise ValidationFailed(_("The file changed while it was being stored."), code="UPLOAD_CHANGED")
        copy.write(_COPY_TRAILER)


# --- read -------------------------------------------------------------------------------------


_READ_RANGE_SQL = "SELECT substring(content FROM %s::integer FOR %s::integer) FROM files WHERE id = %s::bigint"


def _fetch_range(db: Any, raw: Any, file_id: int, start: int, length: int) -> bytes | None:
    """One `substring()` over a binary-format psycopg cursor on the raw connection `raw` of
    Django's connection `db`: bytea arrives as raw bytes instead of hex text (about 3x the
    throughput, half the memory per chunk). Logged in `db.queries_log` like any statement.
    Only the TOAST chunks covering the range are read (STORAGE EXTERNAL: no decompression)."""
    params = [start + 1, length, file_id]  # substring() is 1-based
    started = time.monotonic()
    with psycopg.Cursor(raw) as cursor:
        cursor.execute(_READ_RANGE_SQL, params, binary=True)
        row = cursor.fetchone()
    if db.queries_logged:
        db.queries_log.append({"sql": _READ_RANGE_SQL % tuple(params), "time": f"{time.monotonic() - started:.3f}"})
    if row is None:
        return None
    return row[0] if isinstance(row[0], bytes) else bytes(row[0])


def _gone() -> NotFoundError:
    return NotFoundError(_("The file no longer exists."), code="FILE_NOT_FOUND")


def stored_file_read_range(*, file: StoredFile, start: int, length: int) -> bytes:
    """`length` bytes from `start` (fewer at the end of the file). Database errors surface as
    Django's."""
    connection.ensure_connection()
    with connection.wrap_database_errors:
        data = _fetch_range(connection, connection.connection, file.pk, start, length)
    if data is None:
        raise _gone()
    return data


def stored_file_iter_chunks(
    *, file: StoredFile, start: int = 0, end: int | None = None, chunk_size: int | None = None
) -> Iterator[bytes]:
    """Yields the bytes `start..end` (inclusive; default: the whole file) in chunks. Content is
    immutable, so chunks read in separate statements always belong to the same bytes.

    (Reading ahead in a helper thread, so PostgreSQL prepares the next chunk while this one is
    sent, was measured with bench/files.py and gave no gain on the 2-core test machine.)"""
    chunk_size = chunk_size or DOWNLOAD_CHUNK_SIZE
    last = file.size - 1 if end is None else min(end, file.size - 1)
    for position in range(start, last + 1, chunk_size):
        yield stored_file_read_range(file=file, start=position, length=min(chunk_size, last - position + 1))


class StoredFileReader(io.RawIOBase):
    """A read-only, seekable file object over a stored file's content (chunked reads)."""

    def __init__(self, file: StoredFile):
        super().__init__()
        self.file = file
        self.name = file.original_name
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.file.size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._position >= self.file.size or not len(view):
            return 0
        data = stored_file_read_range(file=self.file, start=self._position, length=min(len(view), DOWNLOAD_CHUNK_SIZE))
        view[: len(data)] = data
        self._position += len(data)
        return len(data)

    def readall(self) -> bytes:
        parts = list(stored_file_iter_chunks(file=self.file, start=self._position))
        self._position = self.file.size
        return b"".join(parts)


def stored_file_open(file: StoredFile) -> IO[bytes]:
    """A buffered, seekable binary file object over the content (reads in chunks on demand;
    `.read()` without a size loads it all — fine for XML, not for 100 MB)."""
    return io.BufferedReader(StoredFileReader(file), buffer_size=256 * 1024)


def stored_file_delete(*, file: StoredFile, actor: User | None) -> None:
    """Deletes a file nothing references (a referencing row protects it: `PROTECTED`)."""
    from django.db.models import ProtectedError as DjangoProtectedError
    from django.db.models import RestrictedError

    try:
        with transaction.atomic():
            StoredFile.objects.filter(pk=file.pk).delete()
    except (DjangoProtectedError, RestrictedError, IntegrityError):
        raise ProtectedError(_("The file is still in use."), code="FILE_IN_USE") from None
