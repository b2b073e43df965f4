"""POST /api/files/, GET /api/files/{id}/, GET /api/files/{id}/content/."""

from __future__ import annotations

import hashlib
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from files.models import FileType, StoredFile
from tests.files.conftest import MULTIPART, multipart_body
from tests.files.factories import stored_file

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
XML = "<?xml version='1.0' encoding='UTF-8'?><HDon><TTChung><THDon>Hóa đơn</THDon></TTChung></HDon>".encode()


def upload(client, data: bytes, name: str = "doc.bin"):
    return client.post("/api/files/", {"file": SimpleUploadedFile(name, data)}, format="multipart")


def content_url(file) -> str:
    return f"/api/files/{file.pk}/content/"


# --- upload -------------------------------------------------------------------------------------


def test_upload_stores_and_describes_the_file(client_for, finance):
    response = upload(client_for(finance), PDF, name="Hóa đơn 11-2026.pdf")
    assert response.status_code == 201, response.content
    body = response.json()
    file = StoredFile.objects.get()
    assert body == {
        "id": file.pk,
        "original_name": "Hóa đơn 11-2026.pdf",
        "content_type": "application/pdf",
        "size": len(PDF),
        "sha256": hashlib.sha256(PDF).hexdigest(),
        "created_by": {"id": finance.pk, "email": finance.email, "name": finance.name},
        "created_at": body["created_at"],
        "content_url": f"/api/files/{file.pk}/content/",
    }


def test_type_comes_from_the_bytes_not_the_name(client_for, finance):
    response = upload(client_for(finance), XML, name="looks-like.pdf")
    assert response.json()["content_type"] == FileType.XML


def test_same_bytes_twice_keep_one_copy(client_for, finance, owner):
    first = upload(client_for(finance), XML, name="a.xml")
    second = upload(client_for(owner), XML, name="b.xml")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert StoredFile.objects.count() == 1


def test_windows_path_in_the_name_is_reduced_to_the_file_name(client_for, finance):
    body = multipart_body([("file", "C:\\Users\\ke toan\\..\\Hóa đơn.xml", XML)])
    response = client_for(finance).generic("POST", "/api/files/", body, content_type=MULTIPART)
    assert response.status_code == 201, response.content
    assert response.json()["original_name"] == "Hóa đơn.xml"


@pytest.mark.parametrize("name", ["bad\x00name.pdf", "bad\x07name.pdf", "tab\tname.pdf", "line\nbreak.pdf"])
def test_control_characters_never_reach_a_stored_name(client_for, finance, name):
    """Django's multipart parser drops them from the header (the service refuses them outright,
    see test_services): either way no stored name holds one."""
    body = multipart_body([("file", name, PDF)])
    response = client_for(finance).generic("POST", "/api/files/", body, content_type=MULTIPART)
    if response.status_code == 201:
        stored = StoredFile.objects.get().original_name
        assert stored.isprintable()
        assert stored.endswith("name.pdf") or stored == "linebreak.pdf"
    else:
        assert response.status_code == 400
        assert not StoredFile.objects.exists()


@pytest.mark.parametrize("name", ["../", "..", "/", "  "])
def test_names_without_a_file_name_are_refused(client_for, finance, name):
    body = multipart_body([("file", name, PDF)])
    response = client_for(finance).generic("POST", "/api/files/", body, content_type=MULTIPART)
    assert response.status_code == 400, response.content
    assert not StoredFile.objects.exists()


def test_empty_file_is_refused(client_for, finance):
    response = upload(client_for(finance), b"", name="empty.pdf")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "EMPTY_FILE"
    assert not StoredFile.objects.exists()


def test_too_large_file_gets_413_and_nothing_is_stored(client_for, finance, settings):
    settings.FILE_MAX_SIZE = 1000
    response = upload(client_for(finance), b"x" * 1001, name="big.bin")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "TOO_LARGE"
    assert response.json()["error"]["details"] == {"max_size": 1000}
    assert "1000" in response.json()["error"]["message"]  # "1000 bytes" / "1000 byte"
    assert not StoredFile.objects.exists()


def test_too_large_declared_length_is_refused_before_reading(client_for, finance, settings):
    settings.FILE_MAX_SIZE = 1000
    body = multipart_body([("file", "big.bin", b"x" * 200_000)])
    response = client_for(finance).generic("POST", "/api/files/", body, content_type=MULTIPART)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "TOO_LARGE"
    assert not StoredFile.objects.exists()


def test_large_upload_goes_through_a_temporary_file(client_for, finance, settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    data = PDF * 20
    response = upload(client_for(finance), data, name="spooled.pdf")
    assert response.status_code == 201
    file = StoredFile.objects.get()
    assert (file.size, file.sha256) == (len(data), hashlib.sha256(data).hexdigest())


@pytest.mark.parametrize("cut", [10, 200, -40, -3])
def test_upload_cut_off_mid_way_leaves_no_row(client_for, finance, cut):
    """The body ends before the closing delimiter (client gone, proxy cut): refused."""
    body = multipart_body([("file", "cut.pdf", PDF)])[:cut]
    response = client_for(finance).generic("POST", "/api/files/", body, content_type=MULTIPART)
    assert response.status_code == 400, response.content
    assert not StoredFile.objects.exists()


def test_cut_off_upload_says_so(client_for, finance):
    body = multipart_body([("file", "cut.pdf", PDF)])[:-30]
    response = client_for(finance).generic("POST", "/api/files/", body, content_type=MULTIPART)
    assert response.json()["error"]["code"] == "UPLOAD_INCOMPLETE"


def test_missing_file_and_unknown_fields_are_refused(client_for, finance):
    client = client_for(finance)
    assert client.post("/api/files/", {}, format="multipart").status_code == 400
    response = client.post("/api/files/", {"file": SimpleUploadedFile("a.xml", XML), "owner": "me"}, format="multipart")
    assert response.status_code == 400
    assert "owner" in response.json()["error"]["details"]
    assert client.post("/api/files/", {"file": "not a file"}, format="json").status_code in {400, 415}
    assert not StoredFile.objects.exists()


def test_session_upload_is_checked_too(finance, settings):
    """With a session, DRF's CSRF check parses the body during authentication: our limits
    must already apply there."""
    from rest_framework.test import APIClient

    settings.FILE_MAX_SIZE = 100
    client = APIClient()
    client.force_login(finance)
    response = client.post("/api/files/", {"file": SimpleUploadedFile("a.bin", b"x" * 500)}, format="multipart")
    assert response.status_code == 413
    body = multipart_body([("file", "cut.pdf", b"y" * 50)])[:-20]
    response = client.generic("POST", "/api/files/", body, content_type=MULTIPART)
    assert response.status_code == 400
    assert not StoredFile.objects.exists()


# --- authorisation ----------------------------------------------------------------------------


def test_anonymous_gets_401_everywhere(anon_client, finance):
    file = stored_file(created_by=finance)
    assert upload(anon_client, PDF).status_code == 401
    assert anon_client.get(f"/api/files/{file.pk}/").status_code == 401
    assert anon_client.get(content_url(file)).status_code == 401
    assert StoredFile.objects.count() == 1


def test_user_without_file_permissions_gets_403(client_for, outsider, finance):
    file = stored_file(created_by=finance)
    client = client_for(outsider)
    assert upload(client, PDF).status_code == 403
    assert client.get(f"/api/files/{file.pk}/").status_code == 403
    assert client.get(content_url(file)).status_code == 403


def test_viewers_read_every_file_but_cannot_upload(client_for, approver, finance):
    file = stored_file(created_by=finance)
    client = client_for(approver)  # bod: view only
    assert client.get(content_url(file)).status_code == 200
    assert upload(client, PDF).status_code == 403


def test_upload_only_users_see_their_own_files_only(client_for, uploader, finance):
    others = stored_file(created_by=finance)
    client = client_for(uploader)
    response = upload(client, PDF, name="mine.pdf")
    assert response.status_code == 201
    mine = response.json()["id"]
    assert client.get(f"/api/files/{mine}/content/").status_code == 200
    assert client.get(f"/api/files/{others.pk}/").status_code == 404
    assert client.get(content_url(others)).status_code == 404


@pytest.mark.parametrize("file_id", ["abc", "99999999999999999999999", "-1", "1.0"])
def test_bad_ids_are_404(client_for, finance, file_id):
    assert client_for(finance).get(f"/api/files/{file_id}/content/").status_code == 404


def test_missing_file_is_404(client_for, finance):
    response = client_for(finance).get("/api/files/987654/content/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


# --- download ---------------------------------------------------------------------------------


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def test_pdf_downloads_inline_with_headers(client_for, finance):
    file = stored_file(PDF, name="Hóa đơn tháng 11.pdf")
    response = client_for(finance).get(content_url(file))
    assert response.status_code == 200
    assert response.streaming
    assert body_of(response) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Length"] == str(len(PDF))
    assert response["ETag"] == f'"{file.sha256}"'
    assert response["Accept-Ranges"] == "bytes"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("inline;")
    assert f"filename*=utf-8''{quote('Hóa đơn tháng 11.pdf')}" in disposition
    assert "private" in response["Cache-Control"]


def test_other_types_download_as_attachments(client_for, finance):
    file = stored_file(XML, name="invoice.xml")
    response = client_for(finance).get(content_url(file))
    assert response["Content-Type"] == "application/xml"
    assert response["Content-Disposition"] == 'attachment; filename="invoice.xml"'
    assert "sandbox" in response["Content-Security-Policy"]
    assert body_of(response) == XML


def test_download_ignores_the_accept_header(client_for, finance):
    file = stored_file(PDF)
    response = client_for(finance).get(content_url(file), HTTP_ACCEPT="application/pdf")
    assert response.status_code == 200
    assert body_of(response) == PDF


def test_download_in_many_chunks(client_for, finance, monkeypatch):
    from files import services

    monkeypatch.setattr(services, "DOWNLOAD_CHUNK_SIZE", 1000)
    data = bytes(range(256)) * 100 + b"tail"
    file = stored_file(data)
    response = client_for(finance).get(content_url(file))
    chunks = list(response.streaming_content)
    assert len(chunks) == 26
    assert b"".join(chunks) == data


def test_if_none_match_gives_304(client_for, finance):
    file = stored_file(PDF)
    client = client_for(finance)
    response = client.get(content_url(file), HTTP_IF_NONE_MATCH=f'"{file.sha256}"')
    assert response.status_code == 304
    assert response.content == b""
    response = client.get(content_url(file), HTTP_IF_NONE_MATCH=f'"other", W/"{file.sha256}"')
    assert response.status_code == 304
    assert client.get(content_url(file), HTTP_IF_NONE_MATCH='"other"').status_code == 200


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=100-", 100, None),
        ("bytes=-16", -16, None),
        ("bytes=5-999999", 5, None),
        ("bytes=0-0", 0, 0),
    ],
)
def test_range_requests_get_206(client_for, finance, header, start, end):
    file = stored_file(PDF)
    response = client_for(finance).get(content_url(file), HTTP_RANGE=header)
    assert response.status_code == 206
    expected = PDF[start:] if end is None else PDF[start : end + 1]
    assert body_of(response) == expected
    first = start if start >= 0 else len(PDF) + start
    assert response["Content-Range"] == f"bytes {first}-{first + len(expected) - 1}/{len(PDF)}"
    assert response["Content-Length"] == str(len(expected))


@pytest.mark.parametrize("header", [f"bytes={len(PDF)}-", "bytes=99999999-", "bytes=-0"])
def test_unsatisfiable_range_gets_416(client_for, finance, header):
    file = stored_file(PDF)
    response = client_for(finance).get(content_url(file), HTTP_RANGE=header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(PDF)}"


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "items=0-5", "bytes=9-3", "bytes=abc", "bytes=-"])
def test_unsupported_or_invalid_ranges_serve_the_whole_file(client_for, finance, header):
    file = stored_file(PDF)
    response = client_for(finance).get(content_url(file), HTTP_RANGE=header)
    assert response.status_code == 200
    assert body_of(response) == PDF


def test_if_range_with_another_etag_serves_the_whole_file(client_for, finance):
    file = stored_file(PDF)
    client = client_for(finance)
    response = client.get(content_url(file), HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"stale"')
    assert response.status_code == 200
    response = client.get(content_url(file), HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=f'"{file.sha256}"')
    assert response.status_code == 206


def test_head_sends_headers_only(client_for, finance):
    file = stored_file(PDF)
    response = client_for(finance).head(content_url(file))
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(PDF))
    assert b"".join(response.streaming_content) == b""


# --- content stays out of normal queries -------------------------------------------------------


def _content_selected(queries) -> list[str]:
    return [q["sql"] for q in queries if '"files"."content"' in q["sql"] or "substring(content" in q["sql"]]


def test_metadata_reads_no_content(client_for, finance):
    file = stored_file(PDF)
    client = client_for(finance)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/files/{file.pk}/")
    assert response.status_code == 200
    assert _content_selected(queries.captured_queries) == []


def test_download_reads_content_only_in_chunks(client_for, finance):
    file = stored_file(PDF)
    client = client_for(finance)
    with CaptureQueriesContext(connection) as queries:
        body_of(client.get(content_url(file)))
    content_queries = _content_selected(queries.captured_queries)
    assert content_queries and all("substring(content" in sql for sql in content_queries)


def test_openapi_schema_describes_the_file_endpoints(owner_client):
    response = owner_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    import json

    schema = json.loads(response.content)
    paths = schema["paths"]
    upload = paths["/api/files/"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert {"201", "200", "413"} <= set(upload["responses"])
    content = paths["/api/files/{id}/content/"]["get"]
    assert content["responses"]["200"]["content"]["application/octet-stream"]["schema"] == {
        "type": "string",
        "format": "binary",
    }
    assert {"206", "304", "416"} <= set(content["responses"])
    assert "get" in paths["/api/files/{id}/"]


def test_upload_is_audited_with_its_uploader_and_without_content(client_for, finance):
    from audit.models import AuditEntry

    response = upload(client_for(finance), PDF, name="audited.pdf")
    entry = AuditEntry.objects.get(table_name="files", record_id=str(response.json()["id"]), action="INSERT")
    assert entry.actor == finance.email and entry.actor_user_id == finance.pk
    assert "content" not in entry.after and entry.after["original_name"] == "audited.pdf"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"garbage without any boundary", MULTIPART),
        (b"--AcOuNtEeBoUnDaRy\r\nno headers end", MULTIPART),
        (b"", MULTIPART),
        (b"x" * 100, "multipart/form-data"),  # no boundary parameter
        (b"x" * 100, "multipart/form-data; boundary="),
    ],
)
def test_malformed_multipart_is_a_clear_400(client_for, finance, body, content_type):
    response = client_for(finance).generic("POST", "/api/files/", body, content_type=content_type)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"]
    assert not StoredFile.objects.exists()


def test_two_files_in_one_upload_are_refused(client_for, finance):
    body = multipart_body([("file", "a.xml", b"<a/>"), ("file", "b.xml", b"<b/>")])
    response = client_for(finance).generic("POST", "/api/files/", body, content_type=MULTIPART)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ONE_FILE_ONLY"
    assert not StoredFile.objects.exists()
