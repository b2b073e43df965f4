"""The file store in the admin: read-only list, who/when, download link."""

from __future__ import annotations

import pytest
from django.test import Client

from files.models import StoredFile
from tests.files.factories import stored_file

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\nadmin\n%%EOF\n"


def admin_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_list_shows_who_when_and_a_download_link(owner, finance):
    file = stored_file(PDF, name="Hóa đơn.pdf", created_by=finance)
    response = admin_client(owner).get("/admin/files/storedfile/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Hóa đơn.pdf" in page and finance.name in page
    assert f"/admin/files/storedfile/{file.pk}/download/" in page


def test_download_from_the_admin_streams_the_file(owner):
    file = stored_file(PDF, name="a.pdf")
    response = admin_client(owner).get(f"/admin/files/storedfile/{file.pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Disposition"].startswith("inline")
    response = admin_client(owner).get(f"/admin/files/storedfile/{file.pk}/download/", HTTP_RANGE="bytes=0-3")
    assert response.status_code == 206


def test_detail_page_is_read_only(owner, finance):
    file = stored_file(PDF, created_by=finance)
    client = admin_client(owner)
    response = client.get(f"/admin/files/storedfile/{file.pk}/change/")
    assert response.status_code == 200
    assert b'name="original_name"' not in response.content
    assert client.post(f"/admin/files/storedfile/{file.pk}/change/", {"original_name": "x"}).status_code == 403
    assert client.get("/admin/files/storedfile/add/").status_code == 403
    assert client.post(f"/admin/files/storedfile/{file.pk}/delete/", {"post": "yes"}).status_code == 403
    assert StoredFile.objects.get().original_name == file.original_name


def test_viewers_see_the_list_others_do_not(approver, outsider):
    file = stored_file(PDF)
    assert admin_client(approver).get("/admin/files/storedfile/").status_code == 200
    assert admin_client(outsider).get("/admin/files/storedfile/").status_code == 403
    assert admin_client(outsider).get(f"/admin/files/storedfile/{file.pk}/download/").status_code == 403
    assert admin_client(approver).get("/admin/files/storedfile/987654/download/").status_code == 404


def test_anonymous_is_sent_to_login():
    file = stored_file(PDF)
    response = Client().get(f"/admin/files/storedfile/{file.pk}/download/")
    assert response.status_code == 302 and "/login/" in response["Location"]
