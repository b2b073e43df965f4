"""payments.0006 carries existing requests forward: a submitted request gets the payee it pays today and
every request gets its preparers (maker, plus whoever the audit log shows preparing it)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from acountee.db.roles import owner_connection
from payments import services
from payments.models import PaymentRequest, PaymentRequestPreparer
from payments.services import invoice_link
from tests.payments.factories import attach_document, make_invoice


def _remigrate_payment_controls() -> None:
    """Unapply payments.0006 (the new columns and pr_preparers go), then apply everything again."""
    with owner_connection(connection):
        executor = MigrationExecutor(connection)
        leaves = executor.loader.graph.leaf_nodes()
        executor.migrate([("payments", "0005_search_document")])
        executor.loader.build_graph()
        executor.migrate(leaves)


@pytest.mark.django_db(transaction=True)
def test_existing_requests_get_their_payee_and_preparers(company):
    pending = services.payment_request_create(
        actor=company.clerk,
        name="Tạm ứng",
        amount="5000000",
        type="advanced",
        bank_name="Vietcombank",
        bank_account="0071 000 111",
        account_name="CÔNG TY A",
    )
    attach_document(pending, company.clerk)
    services.payment_request_update(pr=pending, actor=company.chief, note="Kế toán trưởng đã sửa")
    services.payment_request_request_approval(pr=pending, actor=company.clerk)
    paid = services.payment_request_create(actor=company.colleague, name="NCC", type="direct")
    invoice_link(
        invoice=make_invoice(total="3000000", bank_account="0451000123456", seller_tax_code="0101111111"),
        pr=paid,
        actor=company.colleague,
    )
    services.payment_request_request_approval(pr=paid, actor=company.colleague)
    services.payment_request_approve(pr=paid, actor=company.director)
    draft = services.payment_request_create(actor=company.clerk, name="Nháp", type="direct")

    _remigrate_payment_controls()

    pending, paid, draft = (PaymentRequest.objects.get(pk=pr.pk) for pr in (pending, paid, draft))
    assert (pending.payee_bank_name, pending.payee_bank_account, pending.payee_account_name) == (
        "Vietcombank",
        "0071000111",
        "CÔNG TY A",
    )
    assert (paid.payee_bank_account, paid.payee_tax_code) == ("0451000123456", "0101111111")
    assert draft.payee_bank_account == ""

    def preparers(pr):
        return set(PaymentRequestPreparer.objects.filter(pr=pr).values_list("user_id", flat=True))

    assert preparers(pending) == {company.clerk.pk, company.chief.pk}
    assert preparers(paid) == {company.colleague.pk}
    assert preparers(draft) == {company.clerk.pk}
