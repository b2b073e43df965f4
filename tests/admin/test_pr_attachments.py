"""Attaching and detaching files on the PR page (payments/admin/attachments.py)."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile

from files.models import StoredFile
from payments import services
from payments.models import PRAttachment
from payments.services import payment_request_attachment_add
from tests.approvals.factories import approver_users
from tests.files.factories import stored_file
from tests.payments.factories import make_invoice, make_pr

pytestmark = pytest.mark.django_db
PR_URL = "/admin/payments/paymentrequest/{}/change/"
ADD_URL = "/admin/payments/paymentrequest/{}/attachments/add/"
REMOVE_URL = "/admin/payments/paymentrequest/{}/attachments/{}/remove/"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def texts(response) -> list[str]:
    """The messages this response added (earlier unread ones are still in the cookie: keep the last one)."""
    return [str(m) for m in get_messages(response.wsgi_request)][-1:]


def upload(name: str = "bao-gia.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def direct_pr(maker, **kwargs):
    """A direct request (with an invoice, so it can be submitted): the attachments here are only the test's own
    (an advanced request is made with a supporting document already attached)."""
    return make_pr(maker=maker, type="direct", invoices=[make_invoice()], **kwargs)


@pytest.fixture
def pr(maker):
    (a,) = approver_users(1)
    return direct_pr(maker, steps=[("anyof", [a])])


def test_finance_uploads_a_pdf_previews_it_and_removes_it(pr, finance, admin_client_for):
    client = admin_client_for(finance)
    html = client.get(PR_URL.format(pr.pk)).content.decode()
    assert 'id="pr-attachment-form"' in html and f'formaction="{ADD_URL.format(pr.pk)}"' in html
    response = client.post(ADD_URL.format(pr.pk), {"file": upload()})
    assert response.status_code == 302 and response["Location"] == PR_URL.format(pr.pk)
    assert texts(response) == ["Attached “bao-gia.pdf”."]
    (attachment,) = PRAttachment.objects.filter(pr=pr)
    assert attachment.added_by == finance
    html = client.get(PR_URL.format(pr.pk)).content.decode()
    src = re.search(r'<iframe class="pdf-preview" src="([^"]+)"', html).group(1)
    preview = client.get(src)
    assert preview.status_code == 200 and b"".join(preview.streaming_content) == PDF
    assert f'formaction="{REMOVE_URL.format(pr.pk, attachment.file_id)}"' in html
    response = client.post(REMOVE_URL.format(pr.pk, attachment.file_id))
    assert response.status_code == 302 and texts(response) == ["Attachment removed."]
    assert not PRAttachment.objects.filter(pr=pr).exists()


def test_an_approver_without_change_permission_sees_no_form_and_gets_403(maker, admin_client_for):
    (a,) = approver_users(1)
    pr = direct_pr(maker, steps=[("anyof", [a])])
    services.payment_request_request_approval(pr=pr, actor=maker)
    payment_request_attachment_add(pr=pr, file=stored_file(content=PDF, name="x.pdf"), actor=maker)
    file_id = PRAttachment.objects.get(pr=pr).file_id
    client = admin_client_for(a)
    html = client.get(PR_URL.format(pr.pk)).content.decode()
    assert 'id="pr-attachments"' in html
    assert "attachments/add/" not in html and "/remove/" not in html
    assert client.post(ADD_URL.format(pr.pk), {"file": upload()}).status_code == 403
    assert client.post(REMOVE_URL.format(pr.pk, file_id)).status_code == 403
    assert PRAttachment.objects.filter(pr=pr).count() == 1


def test_hostile_uploads_become_messages(pr, finance, admin_client_for, settings):
    client = admin_client_for(finance)
    url = ADD_URL.format(pr.pk)
    assert texts(client.post(url, {})) == ["Choose one file to attach."]
    assert texts(client.post(url, {"file": [upload("a.pdf"), upload("b.pdf", PDF + b"b")]})) == [
        "Choose one file to attach."
    ]
    assert texts(client.post(url, {"file": upload(content=b"")})) == ["The file is empty."]
    settings.FILE_MAX_SIZE = 1024
    response = client.post(url, {"file": upload(content=b"%PDF-1.4\n" + b"x" * 2048)})
    assert response.status_code == 302 and response["Location"] == PR_URL.format(pr.pk)
    assert texts(response) == ["The file is larger than the limit of 1.0\xa0KB."]
    assert not PRAttachment.objects.filter(pr=pr).exists()


def test_bad_ids_and_methods(pr, maker, finance, admin_client_for):
    other = direct_pr(maker)
    payment_request_attachment_add(pr=other, file=stored_file(content=PDF, name="o.pdf"), actor=maker)
    other_file = PRAttachment.objects.get(pr=other).file_id
    client = admin_client_for(finance)
    assert client.get(ADD_URL.format(pr.pk)).status_code == 405
    assert client.get(REMOVE_URL.format(pr.pk, other_file)).status_code == 405
    assert client.post(ADD_URL.format(999999), {"file": upload()}).status_code == 404
    assert client.post(REMOVE_URL.format(999999, other_file)).status_code == 404
    response = client.post(REMOVE_URL.format(pr.pk, other_file))
    assert texts(response) == ["This file is not attached to the payment request."]
    # a non-numeric id matches no attachment URL: the admin's catch-all redirects it, nothing is changed
    assert client.post(f"/admin/payments/paymentrequest/{pr.pk}/attachments/abc/remove/").status_code in (302, 404)
    assert PRAttachment.objects.filter(pr=other).count() == 1


def test_missing_csrf_token_is_refused(pr, finance):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(finance)
    assert client.post(ADD_URL.format(pr.pk), {"file": upload()}).status_code == 403
    assert not PRAttachment.objects.filter(pr=pr).exists()


def test_submitted_pr_takes_attachments_but_refuses_removal(pr, maker, finance, admin_client_for):
    services.payment_request_request_approval(pr=pr, actor=maker)
    client = admin_client_for(finance)
    assert texts(client.post(ADD_URL.format(pr.pk), {"file": upload()})) == ["Attached “bao-gia.pdf”."]
    file_id = PRAttachment.objects.get(pr=pr).file_id
    html = client.get(PR_URL.format(pr.pk)).content.decode()
    assert "attachments/add/" in html and "/remove/" not in html
    response = client.post(REMOVE_URL.format(pr.pk, file_id))
    assert response.status_code == 302
    (message,) = texts(response)
    assert message == "Cannot remove an attachment from a payment request that is Pending approval."
    assert PRAttachment.objects.filter(pr=pr).count() == 1


def test_cut_off_and_oversized_bodies_are_refused_before_anything_is_stored(pr, finance, admin_client_for, settings):
    client = admin_client_for(finance)
    url = ADD_URL.format(pr.pk)
    head = (
        b'--B\r\nContent-Disposition: form-data; name="file"; filename="x.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
    )
    cut_off = client.generic("POST", url, head + PDF, content_type="multipart/form-data; boundary=B")
    assert cut_off.status_code == 302
    assert texts(cut_off) == [
        "The upload was cut off before the end. Nothing was stored; please upload the file again."
    ]
    settings.FILE_MAX_SIZE = 1024
    body = head + b"%PDF-1.4\n" + b"x" * 70 * 1024 + b"\r\n--B--\r\n"  # declared length over limit + overhead
    huge = client.generic("POST", url, body, content_type="multipart/form-data; boundary=B")
    assert huge.status_code == 302 and texts(huge) == ["The file is larger than the limit of 1.0\xa0KB."]
    assert not PRAttachment.objects.filter(pr=pr).exists()
    assert not StoredFile.objects.filter(original_name="x.pdf").exists()


def _png() -> bytes:
    """A real 1x1 PNG (signature, IHDR, IDAT, IEND with their CRCs)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def test_a_photo_of_a_receipt_is_an_image_previewed_inline(pr, finance, admin_client_for):
    client = admin_client_for(finance)
    png = _png()
    response = client.post(ADD_URL.format(pr.pk), {"file": SimpleUploadedFile("bien-lai.png", png, "image/png")})
    assert response.status_code == 302
    (attachment,) = PRAttachment.objects.filter(pr=pr).select_related("file")
    assert attachment.file.content_type == "image/png" and attachment.file.is_image
    html = client.get(PR_URL.format(pr.pk)).content.decode()
    src = re.search(r'<img class="image-preview" src="([^"]+)" alt="bien-lai.png"', html).group(1)
    shown = client.get(src)
    assert shown.status_code == 200 and shown["Content-Type"] == "image/png"
    assert shown["Content-Disposition"].startswith("inline") and b"".join(shown.streaming_content) == png


def test_the_same_bytes_attached_under_another_name_keep_that_name(maker, finance, admin_client_for):
    (a,) = approver_users(1)
    first, second = direct_pr(maker, steps=[("anyof", [a])]), direct_pr(maker, steps=[("anyof", [a])])
    client = admin_client_for(finance)
    client.post(ADD_URL.format(first.pk), {"file": upload("hop-dong.pdf")})
    response = client.post(ADD_URL.format(second.pk), {"file": upload("hop-dong-da-ky.pdf")})
    assert texts(response) == ["Attached “hop-dong-da-ky.pdf”."]
    one, two = (PRAttachment.objects.get(pr=pr) for pr in (first, second))
    assert one.file_id == two.file_id  # the file store keeps one row per content
    assert ">hop-dong-da-ky.pdf</a>" in client.get(PR_URL.format(second.pk)).content.decode()
    assert ">hop-dong.pdf</a>" in client.get(PR_URL.format(first.pk)).content.decode()
    api = client.get(f"/api/payment-requests/{second.pk}/attachments/")
    assert [row["name"] for row in api.json()] == ["hop-dong-da-ky.pdf"]
