"""A hand-built data set whose every report figure is known (worked out in test_numbers.py).

Rows are written directly (not through the services) so every date and time is exactly what
the expected figures assume; the request-approval audit entries are inserted with their time, and the
approval timing facts are then derived from them and the records by the migration's own backfill
(payments 0011), so the figures also prove the backfill."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib import import_module
from typing import Any

from django.db import connection

from approvals.models import Approval, ApprovalFlow, ApprovalRecord, ApprovalStep, ApprovalStepUser
from audit.models import AuditEntry
from payments.models import PaymentRequest, PRInvoice
from tests.accounts.factories import UserFactory
from tests.payments.factories import make_invoice

A, B, C = "0100000001", "0100000002", "0100000003"


def at(text: str) -> datetime:
    """A UTC instant from 'YYYY-MM-DD HH:MM'."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def invoice(*, seller: str, name: str, issued: str, total: str, status: str = "imported", **fields: Any) -> Any:
    return make_invoice(
        seller_tax_code=seller,
        seller_name=name,
        issue_date=date.fromisoformat(issued),
        total=total,
        status=status,
        **fields,
    )


def pr(
    *,
    maker: Any,
    name: str,
    amount: str,
    status: str,
    type: str = "direct",
    created: str | None = None,
    invoices: list[Any] = (),
    **fields: Any,
) -> PaymentRequest:
    values: dict[str, Any] = {
        "name": name,
        "amount": Decimal(amount),
        "status": status,
        "type": type,
        "maker": maker,
        **fields,
    }
    if status == "completed":
        values["completed_at"] = at("2026-11-25 00:00")
    if status != "draft":  # a submitted request carries its frozen payee (docs/controls.md, PAYEE-FROZEN)
        first = invoices[0] if invoices else None
        values.setdefault(
            "payee_bank_account",
            (first.payment_bank_account if first else None) or fields.get("bank_account") or "0071000123456",
        )
    obj = PaymentRequest.objects.create(**values)
    if created:
        PaymentRequest.objects.filter(pk=obj.pk).update(created_at=at(created))
        obj.refresh_from_db()
    for inv in invoices:
        PRInvoice.objects.create(pr=obj, invoice=inv)
    return obj


def chain(pr_obj: Any, *, flow: Any, current_step: int, steps: list[tuple[str, list[Any]]]) -> list[ApprovalStep]:
    approval = Approval.objects.create(flow=flow, current_step=current_step)
    pr_obj.approval = approval
    pr_obj.save(update_fields=["approval"])
    out = []
    for number, (mode, users) in enumerate(steps, 1):
        step = ApprovalStep.objects.create(approval=approval, number=number, name=f"Bước {number}", mode=mode)
        for user in users:
            ApprovalStepUser.objects.create(step=step, user=user)
        out.append(step)
    return out


def record(step: ApprovalStep, user: Any, when: str) -> ApprovalRecord:
    rec = ApprovalRecord.objects.create(approval=step.approval, step=step, approver=user, acted_by=user)
    ApprovalRecord.objects.filter(pk=rec.pk).update(approved_at=at(when))
    return rec


def requested(pr_obj: Any, when: str) -> None:
    AuditEntry.objects.create(
        action="request_approval",
        table_name="pr",
        record_id=str(pr_obj.pk),
        actor="test",
        occurred_at=at(when),
        metadata={},
    )


@dataclass
class DataSet:
    users: dict[str, Any] = field(default_factory=dict)
    invoices: dict[str, Any] = field(default_factory=dict)
    prs: dict[str, Any] = field(default_factory=dict)
    flow: Any = None


def build_dataset() -> DataSet:
    ds = DataSet()
    maker = ds.users["maker"] = UserFactory(email="maker-r@acountee.test")
    u1 = ds.users["u1"] = UserFactory(email="a-approver1@acountee.test", name="Duyệt Một")
    u2 = ds.users["u2"] = UserFactory(email="b-approver2@acountee.test", name="Duyệt Hai")
    u3 = ds.users["u3"] = UserFactory(email="c-approver3@acountee.test", name="Duyệt Ba")
    flow = ds.flow = ApprovalFlow.objects.create(name="Quy trình chuẩn", is_active=False)

    inv = ds.invoices
    inv["i1"] = invoice(seller=A, name="Công ty A", issued="2026-09-05", total="1000000")
    inv["i2"] = invoice(seller=A, name="Công ty A", issued="2026-10-10", total="2000000")
    inv["i3"] = invoice(seller=B, name="Công ty B", issued="2026-10-20", total="3000000")
    inv["i4"] = invoice(seller=B, name="Công ty B", issued="2026-11-01", total="4000000")
    inv["i5"] = invoice(seller=A, name="Công ty A (mới)", issued="2026-08-15", total="5000000")
    inv["i6"] = invoice(seller=C, name="Công ty C", issued="2026-11-15", total="6000000", status="completed")
    inv["i7"] = invoice(seller=C, name="Công ty C", issued="2026-11-20", total="7000000", status="redundant")
    inv["i8"] = invoice(
        seller=B, name="Công ty B", issued="2026-11-03", total="100.00", currency="USD", exchange_rate=Decimal("25000")
    )

    p = ds.prs
    p["draft"] = pr(maker=maker, name="Nháp", amount="2000000", status="draft", invoices=[inv["i2"]])
    chain(p["draft"], flow=flow, current_step=0, steps=[("anyof", [u1]), ("anyof", [u2])])

    p["pending"] = pr(maker=maker, name="Chờ duyệt", amount="3000000", status="pending", invoices=[inv["i3"]])
    s1, s2 = chain(p["pending"], flow=flow, current_step=2, steps=[("anyof", [u1]), ("allof", [u1, u2, u3])])
    requested(p["pending"], "2026-10-21 08:00")
    record(s1, u1, "2026-10-21 09:00")  # step 1: 1 h
    record(s2, u1, "2026-10-22 09:00")  # step 2 still waits for u2 and u3

    p["approved"] = pr(
        maker=maker, name="Đã duyệt", amount="9000000", status="approved", invoices=[inv["i4"], inv["i5"]]
    )
    s1, s2 = chain(p["approved"], flow=flow, current_step=2, steps=[("anyof", [u1]), ("anyof", [u2])])
    requested(p["approved"], "2026-11-02 08:00")
    record(s1, u1, "2026-11-02 10:00")  # 2 h
    record(s2, u2, "2026-11-02 14:00")  # 4 h; chain 6 h

    p["paid"] = pr(maker=maker, name="Đã chi", amount="6000000", status="completed", invoices=[inv["i6"]])
    s1, s2 = chain(p["paid"], flow=flow, current_step=2, steps=[("anyof", [u1]), ("anyof", [u2])])
    requested(p["paid"], "2026-11-10 08:00")  # rejected after this one: the later request counts
    requested(p["paid"], "2026-11-16 08:00")
    record(s1, u1, "2026-11-16 12:00")  # 4 h
    record(s2, u2, "2026-11-16 20:00")  # 8 h; chain 12 h

    # Advanced, no invoice: created 2026-11-01 01:00 in Ho Chi Minh City (Oct 31 in UTC).
    p["advanced"] = pr(
        maker=maker,
        name="Tạm ứng",
        amount="800000",
        status="approved",
        type="advanced",
        created="2026-10-31 18:00",
        bank_account="0071000123456",
        account_name="NGUYEN VAN A",
    )
    (s1,) = chain(p["advanced"], flow=None, current_step=1, steps=[("anyof", [u3])])
    requested(p["advanced"], "2026-11-01 20:00")
    record(s1, u3, "2026-11-02 03:00")  # 7 h; approval date 2026-11-02 (local)

    # Pending on its first step, created after the months reported (does not change payables figures).
    p["pending2"] = pr(
        maker=maker,
        name="Chờ duyệt 2",
        amount="100",
        status="pending",
        type="advanced",
        created="2026-12-05 02:00",
        bank_account="0071000123456",
        account_name="NGUYEN VAN B",
    )
    chain(p["pending2"], flow=flow, current_step=1, steps=[("anyof", [u2]), ("anyof", [u3])])
    requested(p["pending2"], "2026-12-05 09:00")
    timing_facts()
    return ds


def timing_facts() -> None:
    """The approval timing facts of the chains above, as the migration fills them for existing data."""
    backfill = import_module("payments.migrations.0011_approval_timing_backfill")
    with connection.cursor() as cursor:
        cursor.execute(backfill.CHAINS)
        cursor.execute(backfill.STEPS)
