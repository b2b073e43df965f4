"""Factories for the workbench: approved PRs through the real services, and one template row."""

from __future__ import annotations

from typing import Any

from tests.payments.factories import make_invoice, make_pr


def approved_pr(*, maker: Any, approver: Any, **kwargs: Any) -> Any:
    """A PR requested and approved through the services (one any-of step by `approver`)."""
    from payments import services

    pr = make_pr(maker=maker, steps=[("anyof", [approver])], request=True, **kwargs)
    return services.payment_request_approve(pr=pr, actor=approver)


def direct_pr(*, maker: Any, approver: Any, accounts: list[str], **kwargs: Any) -> Any:
    """An approved direct PR whose invoices name `accounts` ("" = an invoice without one)."""
    invoices = [
        make_invoice(bank_account=a, bank_name="BIDV" if a else "", account_name="NCC" if a else "") for a in accounts
    ]
    return approved_pr(maker=maker, approver=approver, type="direct", invoices=invoices, **kwargs)


def audit_row_export_template() -> Any:
    from payments.workbench.models import ExportTemplate
    from tests.accounts.factories import UserFactory

    return ExportTemplate.objects.create(
        user=UserFactory(), name="Audit template", columns=[{"key": "pr_id", "label": "PR"}]
    )
