"""An invoice's history includes its line items; a PR's its links and approval chain."""

from __future__ import annotations

import pytest

from audit.selectors import record_history

pytestmark = pytest.mark.django_db


def test_invoice_history_includes_its_line_items():
    from tests.invoices.factories import create_invoice

    invoice = create_invoice(424242)
    entries = list(record_history(table="invoices", record_id=str(invoice.pk)))
    assert {"invoices", "invoice_services"} <= {e.table_name for e in entries}
    lines = [e for e in entries if e.table_name == "invoice_services"]
    assert lines and all(e.after["invoice_id"] == invoice.pk for e in lines)


def test_payment_request_history_includes_links_and_the_approval_chain(owner):
    from tests.accounts.factories import UserFactory
    from tests.payments.factories import make_invoice, make_pr

    maker = UserFactory(roles=["finance"])
    approver = UserFactory(roles=["bod"])
    pr = make_pr(maker=maker, steps=[("allof", [approver])], invoices=[make_invoice()])
    other = make_pr(maker=maker, steps=[("allof", [approver])])
    entries = list(record_history(table="pr", record_id=str(pr.pk)))
    tables = {e.table_name for e in entries}
    assert {"pr", "pr_invoice", "approval", "approval_steps", "approval_step_users"} <= tables
    assert str(other.pk) not in {e.record_id for e in entries if e.table_name == "pr"}
    chain_ids = {e.record_id for e in entries if e.table_name == "approval"}
    assert chain_ids == {str(pr.approval.pk)}
