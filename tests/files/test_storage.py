"""DatabaseStorage is the default storage (every FileField stores into `files`), and
FILE_STORAGE=s3 switches to django-storages' S3Storage by configuration alone — tested against
moto's in-process S3 server on 127.0.0.1 (no network)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages
from django.db import models

from files.models import FileType, StoredFile
from files.storage import DatabaseStorage

ROOT = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.4\nstorage test\n%%EOF\n"


class _Attachment(models.Model):
    """A model with a plain FileField (no table needed: we only save the file, not the row)."""

    document = models.FileField(upload_to="attachments/%Y/")

    class Meta:
        app_label = "files"
        managed = False

    def __str__(self) -> str:
        return self.document.name


def test_database_storage_is_the_default():
    assert isinstance(storages["default"], DatabaseStorage)
    assert _Attachment._meta.get_field("document").storage is default_storage


@pytest.mark.django_db
def test_a_file_field_stores_into_the_files_table(finance):
    attachment = _Attachment()
    attachment.document.save("Biên bản nghiệm thu.pdf", ContentFile(PDF), save=False)
    name = attachment.document.name
    file = StoredFile.objects.get()
    assert name == f"{file.pk}/Biên bản nghiệm thu.pdf"
    assert (file.original_name, file.content_type, file.size) == ("Biên bản nghiệm thu.pdf", FileType.PDF, len(PDF))
    with attachment.document.open("rb") as handle:
        assert handle.read() == PDF
    assert attachment.document.size == len(PDF)
    assert attachment.document.url == f"/api/files/{file.pk}/content/"


@pytest.mark.django_db
def test_storage_api():
    storage = DatabaseStorage()
    name = storage.save("dir/sub/invoice.xml", ContentFile(b"<HDon/>"))
    again = storage.save("other.xml", ContentFile(b"<HDon/>"))
    assert StoredFile.objects.count() == 1  # same bytes, one row
    assert name.split("/")[0] == again.split("/")[0]
    assert storage.exists(name) and not storage.exists("999999/x.xml") and not storage.exists("no-id")
    assert storage.size(name) == 7
    assert storage.get_created_time(name) == StoredFile.objects.get().created_at
    storage.delete(name)  # kept: content is shared and evidence
    assert storage.exists(name)
    with pytest.raises(FileNotFoundError):
        storage.open("424242/gone.pdf")
    with pytest.raises(ValueError):
        storage.open(name, "wb")
    with pytest.raises(ValueError):
        storage.save("empty.pdf", ContentFile(b""))
    assert StoredFile.objects.count() == 1


@pytest.mark.django_db
def test_long_names_fit_the_file_field():
    attachment = _Attachment()
    attachment.document.save("x" * 300 + ".pdf", ContentFile(PDF), save=False)
    assert len(attachment.document.name) <= 100
    assert attachment.document.name.endswith(".pdf")


# --- the S3 switch ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


SWITCH_SCRIPT = """
import json
import django
django.setup()
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import models

field = models.FileField(upload_to="attachments/")
name = default_storage.save("attachments/hóa-đơn.pdf", ContentFile(b"%PDF-1.4 via s3"))
with default_storage.open(name) as handle:
    content = handle.read().decode()
print(json.dumps({
    "class": type(default_storage._wrapped).__module__ + "." + type(default_storage._wrapped).__name__,
    "field_uses_default": field.storage is default_storage,
    "name": name,
    "content": content,
    "exists": default_storage.exists(name),
}))
"""


def test_file_storage_s3_switches_to_s3_by_configuration(s3_endpoint):
    import boto3

    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, **credentials)
    s3.create_bucket(Bucket="acountee-files")

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "acountee.settings",
        # Settings parse it; nothing here connects to a database.
        "PGURI": "postgres://nobody@127.0.0.1:1/none",
        "FILE_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": "acountee-files",
        "AWS_S3_ENDPOINT_URL": s3_endpoint,
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    result = subprocess.run(
        [sys.executable, "-c", SWITCH_SCRIPT], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["class"] == "storages.backends.s3.S3Storage"
    assert out["field_uses_default"] is True
    assert out["content"] == "%PDF-1.4 via s3" and out["exists"] is True
    # The object really is in the bucket, read back through the S3 API.
    stored = s3.get_object(Bucket="acountee-files", Key=out["name"])
    assert stored["Body"].read() == b"%PDF-1.4 via s3"


def test_unknown_file_storage_is_refused():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "acountee.settings",
        "PGURI": "postgres://nobody@127.0.0.1:1/none",
        "FILE_STORAGE": "ftp",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "FILE_STORAGE must be database or s3" in result.stderr
