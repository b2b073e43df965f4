"""Factories for payments: payment methods and payment requests made through the services
(so every PR has its chain, exactly as in production)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory
from factory.django import DjangoModelFactory

from payments.models import PaymentMethod


class PaymentMethodFactory(DjangoModelFactory):
    class Meta:
        model = PaymentMethod

    name = factory.Sequence(lambda n: f"Tài khoản {n}")
    bank_name = "Vietcombank"
    bank_account = factory.Sequence(lambda n: f"00710000{n:05d}")
    account_name = "CONG TY TNHH ACOUNTEE"


def grant(user: Any, *perms: str) -> Any:
    """Give `user` extra permissions through a role of their own (as an owner would), e.g.
    `approvals.customize_chain` for tests that need a hand-made chain."""
    from django.contrib.auth.models import Permission

    from accounts.backends import RoleBackend
    from accounts.models import Role, UserRole

    role, _created = Role.objects.get_or_create(name=f"test-grant-{user.pk}")
    for perm in perms:
        app_label, codename = perm.split(".", 1)
        role.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    UserRole.objects.get_or_create(user=user, role=role)
    RoleBackend.forget(user)
    return user


def attach_document(pr: Any, actor: Any) -> None:
    """A supporting document, as an advanced request needs before approval is requested."""
    from payments.services import payment_request_attachment_add
    from tests.files.factories import stored_file

    payment_request_attachment_add(pr=pr, file=stored_file(), actor=actor)


def make_pr(
    *,
    maker: Any,
    steps: list[tuple[str, list[Any]]] | None = None,
    amount: Any = "1500000",
    name: str = "Thanh toán dịch vụ",
    type: str = "advanced",
    request: bool = False,
    invoices: list[Any] | None = None,
    **kwargs: Any,
) -> Any:
    """A draft PR with inline steps [(mode, [approvers])] — a custom chain, so the maker is
    granted `approvals.customize_chain` — and `invoices` linked, optionally already requested (a
    requested direct PR gets one invoice when none is given; an advanced PR without invoices gets
    a supporting document). A direct PR's amount is its invoices' total."""
    from payments import services

    fields: dict[str, Any] = (
        {"bank_name": "Vietcombank", "bank_account": "0071000123456", "account_name": "CONG TY TNHH ABC"}
        if type == "advanced"
        else {}
    )
    fields.update(kwargs)
    if steps is not None:
        grant(maker, "approvals.customize_chain")
    pr = services.payment_request_create(
        actor=maker,
        name=name,
        amount=Decimal(str(amount)) if type == "advanced" else None,
        type=type,
        steps=None
        if steps is None
        else [{"name": f"Bước {i}", "mode": mode, "approvers": users} for i, (mode, users) in enumerate(steps, 1)],
        **fields,
    )
    if type == "direct" and request and invoices is None:
        invoices = [make_invoice()]
    for invoice in invoices or []:
        from payments.services import invoice_link

        invoice_link(invoice=invoice, pr=pr, actor=maker)
    if type == "advanced" and not invoices:
        attach_document(pr, maker)
    if request:
        pr = services.payment_request_request_approval(pr=pr, actor=maker)
    return pr


# --- one bare row per table, for tests/audit/registry.py (no child rows: raw DELETE must work) ---
def audit_row_pr() -> Any:
    from payments.models import PaymentRequest
    from tests.accounts.factories import UserFactory

    return PaymentRequest.objects.create(name="Audit PR", amount=Decimal("1"), maker=UserFactory())


def audit_row_pr_preparer() -> Any:
    from payments.models import PaymentRequestPreparer
    from tests.accounts.factories import UserFactory

    return PaymentRequestPreparer.objects.create(pr=audit_row_pr(), user=UserFactory(), first_action="create_pr")


def audit_row_payment_method() -> Any:
    return PaymentMethodFactory()


def audit_row_pr_attachment() -> Any:
    from payments.models import PRAttachment
    from tests.files.factories import stored_file

    return PRAttachment.objects.create(pr=audit_row_pr(), file=stored_file())


_invoice_seq = iter(range(1, 10**9))


def make_invoice(
    *,
    status: str = "imported",
    bank_account: str = "0451000123456",
    bank_name: str = "Vietcombank CN Hà Nội",
    account_name: str = "CÔNG TY CP CUNG ỨNG MINH PHÁT",
    total: str = "11000000",
    **fields: Any,
) -> Any:
    """A bare invoice row (the import pipeline is tested by tests/invoices)."""
    import datetime
    import hashlib

    from invoices.models import Invoice
    from tests.files.factories import stored_file

    n = next(_invoice_seq)
    values: dict[str, Any] = {
        "template_code": "1",
        "series": "C26TMP",
        "number": f"{n:07d}",
        "number_int": n,
        "issue_date": datetime.date(2026, 11, 1),
        "seller_name": "Công ty CP Cung ứng Minh Phát",
        "seller_tax_code": "0101234567",
        "total_before_tax": Decimal(total) / Decimal("1.1"),
        "total_tax": Decimal(total) - Decimal(total) / Decimal("1.1"),
        "total_payable": Decimal(total),
        "content_hash": hashlib.sha256(f"invoice-{n}".encode()).hexdigest(),
        "source_file": stored_file(content=f"<HDon>{n}</HDon>".encode()),
        "status": status,
        "payment_bank_account": bank_account,
        "payment_bank_name": bank_name,
        "payment_account_name": account_name,
    }
    values["total_before_tax"] = values["total_before_tax"].quantize(Decimal("0.01"))
    values["total_tax"] = values["total_tax"].quantize(Decimal("0.01"))
    values.update(fields)
    return Invoice.objects.create(**values)


def audit_row_pr_invoice() -> Any:
    from payments.models import PRInvoice

    return PRInvoice.objects.create(pr=audit_row_pr(), invoice=make_invoice())
