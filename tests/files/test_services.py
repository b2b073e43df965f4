from __future__ import annotations

import hashlib
import io

import pytest
from django.db import connection

from acountee.errors import TooLarge, ValidationFailed
from files.models import FileType, StoredFile
from files.services import stored_file_create, stored_file_iter_chunks, stored_file_open

pytestmark = pytest.mark.django_db


def test_create_stores_metadata_and_content(finance):
    data = b"%PDF-1.7\n" + bytes(range(256)) * 5000
    file = stored_file_create(content=io.BytesIO(data), name="Hóa đơn tháng 11.pdf", created_by=finance)
    assert file.pk and file.size == len(data)
    assert file.sha256 == hashlib.sha256(data).hexdigest()
    assert file.content_type == FileType.PDF
    assert file.original_name == "Hóa đơn tháng 11.pdf"
    assert file.created_by == finance and file.created_at
    assert b"".join(stored_file_iter_chunks(file=file, chunk_size=4096)) == data
    assert stored_file_open(file).read() == data


def test_same_bytes_keep_one_row(finance, owner):
    first = stored_file_create(content=b"<a/>", name="a.xml", created_by=finance)
    second = stored_file_create(content=b"<a/>", name="b.xml", created_by=owner)
    assert first.pk == second.pk
    assert StoredFile.objects.count() == 1
    assert second.original_name == "a.xml"


def test_empty_refused():
    with pytest.raises(ValidationFailed) as exc:
        stored_file_create(content=b"", name="empty.pdf", created_by=None)
    assert exc.value.code == "EMPTY_FILE"
    assert not StoredFile.objects.exists()


def test_too_large_refused(settings):
    settings.FILE_MAX_SIZE = 10
    with pytest.raises(TooLarge):
        stored_file_create(content=b"x" * 11, name="big.bin", created_by=None)
    assert not StoredFile.objects.exists()


def test_content_column_stored_external():
    with connection.cursor() as cursor:
        cursor.execute("SELECT attstorage FROM pg_attribute WHERE attrelid = 'files'::regclass AND attname = 'content'")
        assert cursor.fetchone()[0] == "e"


@pytest.mark.parametrize("name", ["a\x00b.pdf", "a\x1fb.pdf", "a\nb.pdf", "a\x7fb.pdf", "a\x85b.pdf"])
def test_names_with_control_characters_are_refused(name):
    with pytest.raises(ValidationFailed) as exc:
        stored_file_create(content=b"data", name=name, created_by=None)
    assert exc.value.code == "INVALID_FILE_NAME"
    assert not StoredFile.objects.exists()


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\kt\\Hóa đơn.pdf", "Hóa đơn.pdf"),
        ("  x.xml ", "x.xml"),
        ("Hoa\u0301 đơn.xml", "Hoá đơn.xml"),
    ],
)
def test_names_are_reduced_to_a_clean_file_name(name, kept):
    assert stored_file_create(content=b"data", name=name, created_by=None).original_name == kept


@pytest.mark.parametrize("name", ["", "/", "dir/", "..", "."])
def test_names_without_a_file_name_are_refused(name):
    with pytest.raises(ValidationFailed):
        stored_file_create(content=b"data", name=name, created_by=None)
    assert not StoredFile.objects.exists()


def test_long_names_keep_their_extension():
    file = stored_file_create(content=b"data", name="x" * 400 + ".pdf", created_by=None)
    assert len(file.original_name) == 255 and file.original_name.endswith(".pdf")


def test_non_seekable_streams_are_spooled():
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes):
            self._data = io.BytesIO(data)

        def readable(self):
            return True

        def seekable(self):
            return False

        def readinto(self, buffer):
            chunk = self._data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    data = b"<r>" + b"x" * 3_000_000 + b"</r>"
    file = stored_file_create(content=Pipe(data), name="pipe.xml", created_by=None)
    assert file.size == len(data) and file.content_type == FileType.XML
    assert stored_file_open(file).read() == data


def test_reader_seeks_and_reads_ranges():
    data = bytes(range(256)) * 1000
    reader = stored_file_open(stored_file_create(content=data, name="r.bin", created_by=None))
    reader.seek(1000)
    assert reader.read(10) == data[1000:1010]
    reader.seek(-5, io.SEEK_END)
    assert reader.read() == data[-5:]
    assert reader.read(10) == b""


def test_orm_never_loads_content():
    file = stored_file_create(content=b"secret bytes", name="s.bin", created_by=None)
    assert StoredFile.objects.get(pk=file.pk).content is None
    assert StoredFile.objects.values_list("content", flat=True).get() is None
    assert b"secret" not in str(StoredFile.objects.filter(pk=file.pk).query).encode()


def test_database_keeps_size_and_content_consistent():
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        StoredFile.objects.create(sha256="a" * 64, size=3, original_name="x", content=b"four")
    with pytest.raises(IntegrityError), transaction.atomic():
        StoredFile.objects.create(sha256="NOT-HEX", size=4, original_name="x", content=b"four")
    with pytest.raises(IntegrityError), transaction.atomic():
        StoredFile.objects.create(sha256="b" * 64, size=0, original_name="x", content=b"")


def test_stored_hash_matches_the_bytes_in_the_database():
    data = b"%PDF-1.5 " + bytes(range(256)) * 4000
    file = stored_file_create(content=data, name="h.pdf", created_by=None)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT encode(sha256(content), 'hex'), octet_length(content) FROM files WHERE id = %s", [file.pk]
        )
        assert cursor.fetchone() == (file.sha256, len(data))


def test_audit_trail_never_holds_the_content(finance):
    from audit.models import AuditEntry

    file = stored_file_create(content=b"<x>audit me</x>", name="a.xml", created_by=finance)
    entry = AuditEntry.objects.get(table_name="files", record_id=str(file.pk))
    assert entry.action == "INSERT"
    assert "content" not in entry.after
    assert entry.after["sha256"] == file.sha256


def test_same_bytes_stored_concurrently_return_the_row_that_won(monkeypatch):
    """Another writer stores the same bytes between our lookup and our COPY: the unique
    constraint refuses ours and the service returns theirs (no error, no second row)."""
    from files import services

    data = b"<race>same bytes</race>"
    sha = hashlib.sha256(data).hexdigest()
    real_detect = services.detect_content_type

    def other_writer_first(stream):
        StoredFile.objects.create(sha256=sha, size=len(data), original_name="theirs.xml", content=data)
        return real_detect(stream)

    monkeypatch.setattr(services, "detect_content_type", other_writer_first)
    file, created = services.stored_file_store(content=data, name="ours.xml", created_by=None)
    assert created is False and file.original_name == "theirs.xml"
    assert StoredFile.objects.count() == 1


def test_source_changing_while_stored_stores_nothing():
    class Shifty(io.BytesIO):
        """Returns other bytes on the second pass (a file rewritten under us)."""

        passes = 0

        def seek(self, *args):
            self.passes += 1
            if self.passes == 3:
                self.getbuffer()[0:1] = b"X"
            return super().seek(*args)

    with pytest.raises(ValidationFailed) as exc:
        stored_file_create(content=Shifty(b"<a>" + b"x" * 5000 + b"</a>"), name="shifty.xml", created_by=None)
    assert exc.value.code == "UPLOAD_CHANGED"
    assert not StoredFile.objects.exists()


def test_delete_removes_an_unreferenced_file():
    from files.services import stored_file_delete

    file = stored_file_create(content=b"bye", name="bye.txt", created_by=None)
    stored_file_delete(file=file, actor=None)
    assert not StoredFile.objects.exists()


def test_saving_a_loaded_file_never_touches_its_content():
    data = b"%PDF-1.4 keep me"
    file = stored_file_create(content=data, name="old.pdf", created_by=None)
    loaded = StoredFile.objects.get(pk=file.pk)
    loaded.original_name = "new.pdf"
    loaded.save()
    assert stored_file_open(StoredFile.objects.get(pk=file.pk)).read() == data
    assert StoredFile.objects.get(pk=file.pk).original_name == "new.pdf"


def test_a_null_placeholder_can_never_overwrite_content():
    from django.db import IntegrityError, transaction

    file = stored_file_create(content=b"%PDF-1.4 keep me too", name="a.pdf", created_by=None)
    loaded = StoredFile.objects.get(pk=file.pk)
    assert loaded.content is None  # deferred, then read as the NULL placeholder
    with pytest.raises(IntegrityError), transaction.atomic():
        loaded.save()
    assert stored_file_open(file).read() == b"%PDF-1.4 keep me too"


@pytest.mark.django_db(transaction=True)
def test_delete_refuses_a_file_still_referenced():
    from acountee.db.roles import owner_connection
    from acountee.errors import ProtectedError
    from files.services import stored_file_delete

    file = stored_file_create(content=b"kept", name="kept.txt", created_by=None)
    # A table is the owner role's to create (the app's role may not); dropped again below.
    with owner_connection(connection), connection.cursor() as cursor:
        cursor.execute("CREATE TABLE test_file_refs (file_id bigint REFERENCES files(id))")
    try:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO test_file_refs VALUES (%s)", [file.pk])
        with pytest.raises(ProtectedError) as exc:
            stored_file_delete(file=file, actor=None)
        assert exc.value.code == "FILE_IN_USE"
        assert StoredFile.objects.filter(pk=file.pk).exists()
    finally:
        with owner_connection(connection), connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS test_file_refs")


def test_create_many_deduplicates_detects_types_and_keeps_input_order(django_assert_max_num_queries):
    from files.models import StoredFile
    from files.services import stored_file_create, stored_files_create_many

    existing = stored_file_create(content=b"%PDF-1.4 already here", name="a.pdf", created_by=None)
    xml = b'<?xml version="1.0"?><HDon/>'
    with django_assert_max_num_queries(6):
        ids = stored_files_create_many(
            files=[
                (xml, "hoa-don.xml"),
                (b"%PDF-1.4 already here", "again.pdf"),
                (xml, "copy.xml"),
                (b"plain bytes", "bad\x00name"),
            ],
            created_by_id=None,
        )
    assert ids[1] == existing.pk and ids[0] == ids[2] and len(set(ids)) == 3
    rows = {f.pk: f for f in StoredFile.objects.filter(pk__in=ids)}
    assert rows[ids[0]].content_type == "application/xml"
    assert rows[ids[3]].content_type == "application/octet-stream"
    assert rows[ids[3]].original_name == "file"


def test_create_many_refuses_empty_content_and_stores_nothing():
    from acountee.errors import ValidationFailed
    from files.models import StoredFile
    from files.services import stored_files_create_many

    before = StoredFile.objects.count()
    with pytest.raises(ValidationFailed):
        stored_files_create_many(files=[(b"ok", "a.txt"), (b"", "empty.txt")], created_by_id=None)
    assert StoredFile.objects.count() == before
