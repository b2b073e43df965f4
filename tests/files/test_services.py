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
        cursor.execute(
            "SELECT attstorage FROM pg_attribute WHERE attrelid = 'files'::regclass AND attname = 'content'"
        )
        assert cursor.fetchone()[0] == "e"
