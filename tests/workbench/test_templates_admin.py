"""Export templates API (per user) and the admin Workbench page."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from invoices.models import Invoice, InvoiceStatus
from payments.models import PaymentRequest, PaymentRequestStatus
from payments.workbench.models import ExportTemplate
from tests.accounts.factories import PASSWORD, UserFactory
from tests.payments.factories import make_invoice
from tests.workbench.factories import approved_pr

pytestmark = pytest.mark.django_db
URL = "/api/workbench/templates/"
TOOLS = "/admin/workbench/exporttemplate/tools/"


def test_template_crud(clerk_client):
    created = clerk_client.post(
        URL, {"name": "VCB", "columns": ["pr_id", {"key": "amount", "label": "Số tiền"}]}, format="json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["columns"] == [{"key": "pr_id", "label": "PR id"}, {"key": "amount", "label": "Số tiền"}]
    assert [t["id"] for t in clerk_client.get(URL).json()] == [body["id"]]
    patched = clerk_client.patch(f"{URL}{body['id']}/", {"name": "VCB mới"}, format="json")
    assert patched.status_code == 200 and patched.json()["name"] == "VCB mới"
    assert clerk_client.delete(f"{URL}{body['id']}/").status_code == 204
    assert not ExportTemplate.objects.exists()


@pytest.mark.parametrize(
    "payload,status",
    [
        ({"name": "x", "columns": []}, 400),
        ({"name": "x", "columns": ["nope"]}, 400),
        ({"name": "x", "columns": ["pr_id", "pr_id"]}, 400),
        ({"name": "x", "columns": [{"key": "pr_id", "label": "L" * 101}]}, 400),
        ({"name": "x", "columns": [{"key": "pr_id", "extra": 1}]}, 400),
        ({"name": "x", "columns": [{"key": {}, "label": ""}]}, 400),
        ({"name": "x", "columns": [{"key": ["pr_id"]}]}, 400),
        ({"name": "x", "columns": "pr_id"}, 400),
        ({"name": "", "columns": ["pr_id"]}, 400),
        ({"name": "x", "columns": ["pr_id"], "user": 1}, 400),
    ],
)
def test_template_validation(clerk_client, payload, status):
    response = clerk_client.post(URL, payload, format="json")
    assert response.status_code == status
    assert not ExportTemplate.objects.exists()


def test_template_names_unique_per_user_and_private(clerk_client, client_for, workbench_team):
    assert clerk_client.post(URL, {"name": "A", "columns": ["pr_id"]}, format="json").status_code == 201
    again = clerk_client.post(URL, {"name": "A", "columns": ["amount"]}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "TEMPLATE_NAME_TAKEN"
    other = client_for(UserFactory(roles=["finance"], team=workbench_team))
    assert other.post(URL, {"name": "A", "columns": ["pr_id"]}, format="json").status_code == 201
    mine = ExportTemplate.objects.get(user__email="clerk@acountee.test")
    assert other.get(f"{URL}{mine.pk}/").status_code == 404
    assert other.patch(f"{URL}{mine.pk}/", {"name": "B"}, format="json").status_code == 404
    assert other.delete(f"{URL}{mine.pk}/").status_code == 404
    assert len(other.get(URL).json()) == 1


def test_templates_refused_without_capability(client_for, finance):
    response = client_for(finance).get(URL)
    assert response.status_code == 403 and response.json()["error"]["code"] == "NO_WORKBENCH_ACCESS"


def test_schema_documents_the_workbench(owner_client):
    schema = owner_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content.decode()
    for path in (
        "/api/workbench/cleanup/",
        "/api/workbench/export/",
        "/api/workbench/templates/",
        "/api/workbench/import-paid/",
    ):
        assert path in schema


# --- admin -----------------------------------------------------------------------------------------
@pytest.fixture
def admin_client(clerk) -> Client:
    client = Client()
    assert client.login(email=clerk.email, password=PASSWORD)
    return client


def test_admin_index_links_the_workbench(admin_client):
    response = admin_client.get("/admin/")
    assert response.status_code == 200
    assert TOOLS.encode() in response.content


def test_admin_cleanup_export_import(admin_client, clerk):
    free = make_invoice(issue_date=datetime.date(2026, 11, 3))
    page = admin_client.get(TOOLS, {"month": "2026-11"})
    assert page.status_code == 200
    assert free.seller_name.encode() in page.content
    done = admin_client.post(TOOLS, {"month": "2026-11", "action": "cleanup", "ids": [free.pk]}, follow=True)
    assert done.status_code == 200
    assert Invoice.objects.get(pk=free.pk).status == InvoiceStatus.REDUNDANT
    assert b"obsolete" in done.content

    pr = approved_pr(maker=clerk, approver=UserFactory(roles=["bod"]), name="Chi admin")
    month = f"{pr.created_at.astimezone(datetime.timezone(datetime.timedelta(hours=7))):%Y-%m}"
    csv_response = admin_client.get(TOOLS + "export/", {"month": month, "format": "csv"})
    assert csv_response.status_code == 200
    assert "Chi admin" in b"".join(csv_response.streaming_content).decode("utf-8-sig")
    xlsx = admin_client.get(TOOLS + "export/", {"month": month, "format": "xlsx"})
    from openpyxl import load_workbook

    assert load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active["A2"].value == pr.pk
    bad = admin_client.get(TOOLS + "export/", {"month": "2026-99", "format": "csv"}, follow=True)
    assert b"YYYY-MM" in bad.content  # an admin message, not a 500

    paid = f"pr_id,payment_reference\n{pr.pk},FT-ADMIN\n".encode()
    preview = admin_client.post(TOOLS, {"action": "preview", "file": SimpleUploadedFile("p.csv", paid)})
    assert preview.status_code == 200 and b"FT-ADMIN" in preview.content
    assert PaymentRequest.objects.get(pk=pr.pk).status == PaymentRequestStatus.APPROVED
    admin_client.post(TOOLS, {"action": "import", "file": SimpleUploadedFile("p.csv", paid)})
    assert PaymentRequest.objects.get(pk=pr.pk).payment_reference == "FT-ADMIN"
    garbage = admin_client.post(TOOLS, {"action": "import", "file": SimpleUploadedFile("p.csv", b"\x00\xff" * 10)})
    assert garbage.status_code == 200 and b"not a CSV" in garbage.content


def test_admin_refuses_without_capability(client_for, finance):
    client = Client()
    client.login(email=finance.email, password=PASSWORD)
    response = client.get(TOOLS)
    assert response.status_code == 302
    assert TOOLS.encode() not in client.get("/admin/").content


def test_admin_template_form(admin_client, clerk):
    url = "/admin/workbench/exporttemplate/add/"
    assert admin_client.get(url).status_code == 200
    ok = admin_client.post(url, {"name": "VCB", "columns": '["pr_id", {"key": "amount", "label": "Số tiền"}]'})
    assert ok.status_code == 302
    template = ExportTemplate.objects.get(user=clerk)
    assert template.columns == [{"key": "pr_id", "label": "PR id"}, {"key": "amount", "label": "Số tiền"}]
    again = admin_client.post(url, {"name": "VCB", "columns": '["pr_id"]'})
    assert again.status_code == 200 and b"already have a template" in again.content
    bad = admin_client.post(url, {"name": "X", "columns": '["nope"]'})
    assert bad.status_code == 200 and b"Unknown column" in bad.content
    assert ExportTemplate.objects.count() == 1
