"""Demo approval flows and payment requests in every state, made through the real services
by the demo users (idempotent: existing flows and PRs, by name, are left alone)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

MAKER = "ketoan@acountee.local"
CHIEF_ACCOUNTANT = "ketoan2@acountee.local"
DIRECTOR = "giamdoc@acountee.local"
DEPUTY = "phogiamdoc@acountee.local"
FINANCE = "ketoan2@acountee.local"

FLOWS = [
    # name, description, min, max, [(step name, mode, [emails])]
    ("Chi dưới 50 triệu", "Khoản chi nhỏ: một lãnh đạo duyệt là đủ.", None, "50000000",
     [("Ban giám đốc duyệt", "anyof", [DEPUTY, DIRECTOR])]),
    ("Chi từ 50 triệu", "Khoản chi lớn: kế toán trưởng rồi cả hai lãnh đạo.", "50000000", None,
     [("Kế toán trưởng", "anyof", [CHIEF_ACCOUNTANT]), ("Giám đốc và Phó giám đốc", "allof", [DIRECTOR, DEPUTY])]),
    ("Tạm ứng công tác", "Tạm ứng cho nhân viên đi công tác.", None, None,
     [("Giám đốc duyệt", "anyof", [DIRECTOR])]),
]


def _users() -> dict[str, Any]:
    from accounts.models import User

    emails = {MAKER, CHIEF_ACCOUNTANT, DIRECTOR, DEPUTY, FINANCE, "owner@acountee.local"}
    return {u.email.lower(): u for u in User.objects.filter(email__in=emails)}


def _seed_flows(users: dict[str, Any], log: Callable[[str], Any]) -> dict[str, Any]:
    from approvals.models import ApprovalFlow
    from approvals.services import approval_flow_create

    owner = users["owner@acountee.local"]
    flows = {}
    for name, description, lo, hi, steps in FLOWS:
        flow = ApprovalFlow.objects.filter(name=name).first()
        if flow is None:
            flow = approval_flow_create(
                actor=owner, name=name, description=description, min_amount=lo, max_amount=hi,
                steps=[{"name": s, "mode": m, "approvers": [users[e] for e in emails]} for s, m, emails in steps],
            )
            log(f"  flow {name}")
        flows[name] = flow
    return flows


def _free_invoices_of_one_seller(count: int) -> list[Any]:
    """Imported, unlinked invoices of one seller that names a bank account (for a direct PR)."""
    from invoices.models import Invoice, InvoiceStatus

    free = (Invoice.objects.filter(status=InvoiceStatus.IMPORTED, pr_link__isnull=True)
            .exclude(payment_bank_account="").order_by("issue_date", "id"))
    by_account: dict[str, list[Any]] = {}
    for invoice in free:
        by_account.setdefault(invoice.payment_bank_account, []).append(invoice)
    best = max(by_account.values(), key=len, default=[])
    return best[:count]


def seed_approvals(log: Callable[[str], Any]) -> None:
    from approvals import services
    from payments.models import PaymentMethod, PaymentRequest
    from payments.services import invoice_link

    users = _users()
    if len(users) < 5:
        log("  (demo users missing: run the accounts step first)")
        return
    flows = _seed_flows(users, log)
    maker, director, deputy, chief = users[MAKER], users[DIRECTOR], users[DEPUTY], users[CHIEF_ACCOUNTANT]
    finance = users[FINANCE]
    methods = {m.name: m for m in PaymentMethod.objects.all()}

    def make(name: str, amount: str, *, method: str | None = None, flow: str | None = None, note: str = "",
             direct_invoices: int = 0) -> Any:
        if PaymentRequest.objects.filter(name=name).exists():
            return None
        invoices = _free_invoices_of_one_seller(direct_invoices) if direct_invoices else []
        if invoices:
            amount = str(sum((i.total_payable for i in invoices), Decimal(0)))
        pr = services.payment_request_create(
            actor=maker, name=name, amount=Decimal(amount), type="direct" if invoices else "advanced", note=note,
            payment_method=methods.get(method or "") if not invoices else None,
            flow=flows[flow] if flow else None,
        )
        if not invoices and not pr.bank_account:  # no payment methods seeded: pay the company account
            services.payment_request_update(pr=pr, actor=maker, bank_name="Vietcombank", bank_account="0011004123456",
                                            account_name="CÔNG TY TNHH ACOUNTEE VIỆT NAM")
        for invoice in invoices:
            invoice_link(invoice=invoice, pr=pr, actor=maker)
        log(f"  PR {name}")
        return pr

    # draft
    make("Tạm ứng công tác phí Đà Nẵng — tháng 12/2026", "6500000", method="Tài khoản phụ — Techcombank",
         flow="Tạm ứng công tác", note="Nhân viên kinh doanh đi gặp khách hàng 3 ngày")
    # pending, first step
    pr = make("Thanh toán tiền điện tháng 10/2026", "18450000", method="Điện lực Hà Nội (EVNHANOI)")
    if pr:
        services.payment_request_request_approval(pr=pr, actor=maker)
    # pending on the allof step, one of two directors approved (direct, from imported invoices)
    pr = make("Thanh toán nhà cung cấp — hoá đơn tháng 6-7/2026", "65000000", direct_invoices=3,
              method="Tài khoản chi chính — Vietcombank", flow="Chi từ 50 triệu")
    if pr:
        services.payment_request_request_approval(pr=pr, actor=maker)
        services.payment_request_approve(pr=pr, actor=chief)
        services.payment_request_approve(pr=pr, actor=director)
    # approved, waiting for payment
    pr = make("Cước Internet và điện thoại quý IV/2026", "12800000", method="Viettel Telecom")
    if pr:
        services.payment_request_request_approval(pr=pr, actor=maker)
        services.payment_request_approve(pr=pr, actor=deputy)
    # completed with the bank's reference
    pr = make("Thuê văn phòng tháng 11/2026", "85000000", method="Tài khoản chi chính — Vietcombank",
              note="Hợp đồng thuê số 12/2026/HĐTN")
    if pr:
        services.payment_request_request_approval(pr=pr, actor=maker)
        services.payment_request_approve(pr=pr, actor=chief)
        services.payment_request_approve(pr=pr, actor=director)
        services.payment_request_approve(pr=pr, actor=deputy)
        services.payment_request_complete(pr=pr, actor=finance, payment_reference="FT26333123456789")
    # rejected back to draft, with the reason in the audit log
    pr = make("Sửa chữa điều hoà phòng họp", "9200000", method="Tài khoản phụ — Techcombank")
    if pr:
        services.payment_request_request_approval(pr=pr, actor=maker)
        services.payment_request_reject(pr=pr, actor=director, reason="Cần thêm báo giá thứ hai để so sánh")
    # recalled by the maker after a first approval on a big request
    pr = make("Mua máy chủ lưu trữ dự phòng", "120000000", method="Tài khoản chi chính — Vietcombank")
    if pr:
        services.payment_request_request_approval(pr=pr, actor=maker)
        services.payment_request_approve(pr=pr, actor=chief)
        services.payment_request_recall(pr=pr, actor=maker)
