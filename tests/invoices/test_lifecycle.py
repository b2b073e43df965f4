"""Lifecycle services: obsolete / restore (single and bulk), completed / reopened, payment details."""

from __future__ import annotations

from decimal import Decimal

import pytest

from acountee.errors import InvalidState, NotFoundError, ValidationFailed
from audit.models import AuditEntry
from invoices import services
from invoices.models import Invoice, InvoiceStatus
from tests.invoices.factories import create_invoice

pytestmark = pytest.mark.django_db


def test_mark_obsolete_and_restore(finance):
    invoice = create_invoice(1)
    assert services.invoice_mark_obsolete(invoice=invoice, actor=finance).status == InvoiceStatus.REDUNDANT
    assert AuditEntry.objects.filter(action="mark_obsolete", record_id=str(invoice.pk)).exists()
    with pytest.raises(InvalidState):
        services.invoice_mark_obsolete(invoice=invoice, actor=finance)
    assert services.invoice_restore(invoice=invoice, actor=finance).status == InvoiceStatus.IMPORTED
    with pytest.raises(InvalidState):
        services.invoice_restore(invoice=invoice, actor=finance)


def test_completed_refuses_obsolete_with_invalid_state(finance):
    invoice = create_invoice(1)
    services.invoices_mark_completed(invoices=[invoice], actor=finance)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.COMPLETED
    with pytest.raises(InvalidState) as caught:
        services.invoice_mark_obsolete(invoice=invoice, actor=finance)
    assert caught.value.code == "INVALID_STATE"
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.COMPLETED


def test_completed_and_reopened_for_payments(finance):
    a, b = create_invoice(1), create_invoice(2)
    services.invoices_mark_completed(invoices=[a, b], actor=finance)
    assert set(Invoice.objects.values_list("status", flat=True)) == {InvoiceStatus.COMPLETED}
    services.invoices_mark_completed(invoices=[a], actor=finance)  # idempotent
    services.invoices_mark_reopened(invoices=[a, b], actor=finance)
    assert set(Invoice.objects.values_list("status", flat=True)) == {InvoiceStatus.IMPORTED}
    assert AuditEntry.objects.filter(action="complete").count() == 2
    assert AuditEntry.objects.filter(action="reopen").count() == 2


def test_obsolete_invoices_cannot_be_completed(finance):
    invoice = create_invoice(1)
    services.invoice_mark_obsolete(invoice=invoice, actor=finance)
    with pytest.raises(InvalidState):
        services.invoices_mark_completed(invoices=[invoice], actor=finance)
    with pytest.raises(InvalidState):
        services.invoices_mark_reopened(invoices=[invoice], actor=finance)


def test_bulk_obsolete_reports_each_invoice(finance):
    a, b, c = create_invoice(1), create_invoice(2), create_invoice(3)
    services.invoices_mark_completed(invoices=[c], actor=finance)
    result = services.invoices_bulk_mark_obsolete(ids=[a.pk, b.pk, c.pk, 999999], actor=finance)
    assert result["done"] == [a.pk, b.pk]
    assert [(f["id"], f["code"]) for f in result["failed"]] == [(c.pk, "INVALID_STATE"), (999999, "INVOICE_NOT_FOUND")]
    restored = services.invoices_bulk_restore(ids=[a.pk, c.pk], actor=finance)
    assert restored["done"] == [a.pk] and restored["failed"][0]["id"] == c.pk


def test_linked_invoice_cannot_be_marked_obsolete(finance):
    payments = pytest.importorskip("payments.models")
    invoice = create_invoice(1)
    pr = payments.PaymentRequest.objects.create(name="PR", amount=Decimal("1"), maker=finance)
    payments.PRInvoice.objects.create(pr=pr, invoice=invoice)
    with pytest.raises(InvalidState) as caught:
        services.invoice_mark_obsolete(invoice=invoice, actor=finance)
    assert caught.value.code == "INVOICE_LINKED"


def test_payment_details_update(finance):
    invoice = create_invoice(3)  # seller without bank details
    updated = services.invoice_payment_details_update(
        invoice=invoice,
        actor=finance,
        payment_type="bank_transfer",
        payment_bank_name=" ACB ",
        payment_bank_account="123456789",
        payment_account_name="CÔNG TY A",
    )
    assert (updated.payment_bank_name, updated.payment_bank_account) == ("ACB", "123456789")
    entry = AuditEntry.objects.get(action="update_payment_details", record_id=str(invoice.pk))
    assert entry.metadata["after"]["payment_bank_account"] == "123456789"


@pytest.mark.parametrize(
    "changes",
    [
        {"payment_type": "cheque"},
        {"nonsense": "x"},
        {"payment_bank_account": "1" * 51},
        {"payment_type": "bank_transfer", "payment_bank_account": ""},
    ],
)
def test_payment_details_refuses_bad_input(changes, finance):
    invoice = create_invoice(1)
    before = Invoice.objects.values().get(pk=invoice.pk)
    with pytest.raises(ValidationFailed):
        services.invoice_payment_details_update(invoice=invoice, actor=finance, **changes)
    assert Invoice.objects.values().get(pk=invoice.pk) == before


def test_completed_invoice_payment_details_are_frozen(finance):
    invoice = create_invoice(1)
    services.invoices_mark_completed(invoices=[invoice], actor=finance)
    with pytest.raises(InvalidState):
        services.invoice_payment_details_update(invoice=invoice, actor=finance, payment_bank_name="X")


def test_unknown_invoice(finance):
    with pytest.raises(NotFoundError):
        services.invoice_mark_obsolete(invoice=Invoice(pk=123456789), actor=finance)
