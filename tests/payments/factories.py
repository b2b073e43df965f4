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


def make_pr(*, maker: Any, steps: list[tuple[str, list[Any]]] | None = None, amount: Any = "1500000",
            name: str = "Thanh toán dịch vụ", type: str = "advanced", request: bool = False,
            **kwargs: Any) -> Any:
    """A draft PR with inline steps [(mode, [approvers])], optionally already requested."""
    from approvals import services

    fields: dict[str, Any] = {"bank_name": "Vietcombank", "bank_account": "0071000123456",
                              "account_name": "CONG TY TNHH ABC"} if type == "advanced" else {}
    fields.update(kwargs)
    pr = services.payment_request_create(
        actor=maker, name=name, amount=Decimal(str(amount)), type=type,
        steps=None if steps is None else [
            {"name": f"Bước {i}", "mode": mode, "approvers": users} for i, (mode, users) in enumerate(steps, 1)
        ],
        **fields,
    )
    if request:
        pr = services.payment_request_request_approval(pr=pr, actor=maker)
    return pr


# --- one bare row per table, for tests/audit/registry.py (no child rows: raw DELETE must work) ---
def audit_row_pr() -> Any:
    from payments.models import PaymentRequest
    from tests.accounts.factories import UserFactory

    return PaymentRequest.objects.create(name="Audit PR", amount=Decimal("1"), maker=UserFactory())


def audit_row_payment_method() -> Any:
    return PaymentMethodFactory()


def audit_row_pr_attachment() -> Any:
    from payments.models import PRAttachment
    from tests.files.factories import stored_file

    return PRAttachment.objects.create(pr=audit_row_pr(), file=stored_file())
