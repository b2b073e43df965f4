"""The invoice admin: list, filters, detail with lines, upload page, bulk actions."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from invoices.models import Invoice, InvoiceStatus
from invoices.services import invoices_mark_completed
from tests.invoices.factories import create_invoice, fixture, invoice_xml, zip_of

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/invoices/invoice/"


@pytest.fixture
def admin_client_for(password):
    def make(user):
        client = Client()
        assert client.login(email=user.email, password=password)
        return client

    return make


def test_changelist_with_filters_and_search(finance, admin_client_for):
    client = admin_client_for(finance)
    invoice = create_invoice(1)
    create_invoice(2)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert invoice.number.encode() in response.content
    assert b"Import" in response.content or "Nhập".encode() in response.content
    for params in (
        {"q": invoice.number},
        {"status__exact": "imported"},
        {"linked": "false"},
        {"linked": "true"},
        {"supplier_tax_code": invoice.seller_tax_code},
        {"issue_date__year": "2026"},
    ):
        assert client.get(CHANGELIST, params).status_code == 200


def test_change_view_shows_lines_and_source_file(finance, admin_client_for):
    invoice = create_invoice(1)
    response = admin_client_for(finance).get(f"{CHANGELIST}{invoice.pk}/change/")
    assert response.status_code == 200
    assert invoice.services.first().name.encode() in response.content
    assert invoice.source_file.original_name.encode() in response.content


def test_payment_details_edit_goes_through_the_service(finance, admin_client_for):
    invoice = create_invoice(1)
    client = admin_client_for(finance)
    page = client.get(f"{CHANGELIST}{invoice.pk}/change/")
    assert b'name="payment_bank_account"' in page.content
    response = client.post(
        f"{CHANGELIST}{invoice.pk}/change/",
        {
            "payment_type": "bank_transfer",
            "payment_bank_name": "ACB",
            "payment_bank_account": "777",
            "payment_account_name": "X",
            "services-TOTAL_FORMS": "0",
            "services-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.payment_bank_account == "777"


def test_upload_page_shows_a_result_per_entry(finance, admin_client_for):
    client = admin_client_for(finance)
    assert client.get(CHANGELIST + "import/").status_code == 200
    archive = zip_of([("ok.xml", invoice_xml(1)), ("bad.xml", fixture("wrong_root.xml"))])
    response = client.post(
        CHANGELIST + "import/",
        {
            "files": [
                SimpleUploadedFile("batch.zip", archive),
                SimpleUploadedFile("single.xml", invoice_xml(2)),
            ]
        },
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="import-result"' in content
    assert "wrong root element" in content
    assert "partial" in content and content.count("entry-success") == 2
    assert Invoice.objects.count() == 2


def test_upload_page_needs_add_permission(approver, admin_client_for):
    client = admin_client_for(approver)
    assert client.get(CHANGELIST + "import/").status_code == 403
    assert (
        client.post(CHANGELIST + "import/", {"files": [SimpleUploadedFile("a.xml", invoice_xml(1))]}).status_code == 403
    )
    assert Invoice.objects.count() == 0


def test_bulk_actions(finance, admin_client_for):
    client = admin_client_for(finance)
    a, b = create_invoice(1), create_invoice(2)
    invoices_mark_completed(invoices=[b], actor=finance)
    response = client.post(
        CHANGELIST, {"action": "mark_obsolete", "_selected_action": [a.pk, b.pk], "post": "yes"}, follow=True
    )
    assert response.status_code == 200
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.status == InvoiceStatus.REDUNDANT and b.status == InvoiceStatus.COMPLETED
    client.post(CHANGELIST, {"action": "restore", "_selected_action": [a.pk]})
    a.refresh_from_db()
    assert a.status == InvoiceStatus.IMPORTED


def test_no_add_or_delete_in_admin(owner, admin_client_for):
    invoice = create_invoice(1)
    client = admin_client_for(owner)
    assert client.get(CHANGELIST + "add/").status_code == 403
    assert client.get(f"{CHANGELIST}{invoice.pk}/delete/").status_code == 403
