"""Demo payment methods (the company's and a few suppliers' bank accounts) and payment requests in
every state, made through the real services by the demo users (idempotent: existing methods and
requests, by name, are left alone).

The requests show the payment controls (docs/controls.md): chains chosen by amount (the approval
flows of `approvals.demo`), a chief accountant's own request routed to her alternate, a new-payee
alert and a supplier whose bank account changed since it was last paid (old → new, side by side for
the approvers)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from approvals.demo import CHIEF_ACCOUNTANT, DIRECTOR, FINANCE, MAKER, demo_users

DEMO_PAYMENT_METHODS = [
    # name, bank, account, holder, note
    (
        "Tài khoản chi chính — Vietcombank",
        "Vietcombank — CN Hà Nội",
        "0011004123456",
        "CÔNG TY TNHH ACOUNTEE VIỆT NAM",
        "Tài khoản chi lương và nhà cung cấp",
    ),
    (
        "Tài khoản phụ — Techcombank",
        "Techcombank — CN Hoàn Kiếm",
        "19036677889900",
        "CÔNG TY TNHH ACOUNTEE VIỆT NAM",
        "Chi phí văn phòng, tạm ứng",
    ),
    (
        "Điện lực Hà Nội (EVNHANOI)",
        "BIDV — CN Thăng Long",
        "12210000345678",
        "TỔNG CÔNG TY ĐIỆN LỰC TP HÀ NỘI",
        "Tiền điện hằng tháng",
    ),
    (
        "Viettel Telecom",
        "MB Bank — CN Ba Đình",
        "0801100226688",
        "TỔNG CÔNG TY VIỄN THÔNG VIETTEL",
        "Cước Internet và điện thoại",
    ),
]


def seed_payments(log: Callable[[str], Any]) -> None:
    from payments.models import PaymentMethod
    from payments.services import payment_method_create

    for name, bank, account, holder, note in DEMO_PAYMENT_METHODS:
        if PaymentMethod.objects.filter(name=name).exists():
            continue
        payment_method_create(
            actor=None, name=name, bank_name=bank, bank_account=account, account_name=holder, note=note
        )
        log(f"  payment method {name}")


SUPPORTING_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _free_invoices_of_one_seller(count: int, *, exclude_tax_codes: tuple[str, ...] = ()) -> list[Any]:
    """Imported, unlinked invoices of one seller that names a bank account (for a direct PR)."""
    from invoices.models import Invoice, InvoiceStatus

    free = (
        Invoice.objects.filter(status=InvoiceStatus.IMPORTED, pr_link__isnull=True)
        .exclude(payment_bank_account="")
        .exclude(seller_signature="invalid")  # the demo's tampered invoice waits for an owner's decision
        .exclude(seller_tax_code__in=exclude_tax_codes)
        .order_by("issue_date", "id")
    )
    by_account: dict[str, list[Any]] = {}
    for invoice in free:
        by_account.setdefault(invoice.payment_bank_account, []).append(invoice)
    best = max(by_account.values(), key=len, default=[])
    return best[:count]


def _approve_places(pr: Any, places: int) -> None:
    """Approve `places` times, each time by the first approver of the current step who has not
    approved yet and did not prepare the request (the chain depends on the amount's flow)."""
    from approvals.models import ApprovalRecord, ApprovalStep
    from payments import services
    from payments.models import PaymentRequest

    for _i in range(places):
        pr = PaymentRequest.objects.select_related("approval").get(pk=pr.pk)
        if pr.status != "pending":
            return
        step = ApprovalStep.objects.get(approval=pr.approval, number=pr.approval.current_step)
        done = set(ApprovalRecord.objects.filter(step=step).values_list("approver_id", flat=True))
        prepared = set(pr.preparers.values_list("user_id", flat=True))
        who = next(
            su.user
            for su in step.step_users.select_related("user").order_by("id")
            if su.user_id not in done and su.user_id not in prepared
        )
        services.payment_request_approve(pr=pr, actor=who)


def _approve_all(pr: Any) -> None:
    _approve_places(pr, 50)


def seed_payment_requests(log: Callable[[str], Any]) -> None:
    from files.services import stored_file_create
    from payments import services
    from payments.models import PaymentMethod, PaymentRequest
    from payments.services import invoice_link, payment_request_attachment_add

    users = demo_users()
    if len(users) < 5:
        log("  (demo users missing: run the accounts step first)")
        return
    maker, director, chief = users[MAKER], users[DIRECTOR], users[CHIEF_ACCOUNTANT]
    finance = users[FINANCE]
    methods = {m.name: m for m in PaymentMethod.objects.all()}

    def make(
        name: str,
        amount: str,
        *,
        method: str | None = None,
        note: str = "",
        direct_invoices: int = 0,
        invoices: list[Any] | None = None,
        by: Any = None,
    ) -> Any:
        if PaymentRequest.objects.filter(name=name).exists():
            return None
        by = by or maker
        if invoices is None:
            invoices = _free_invoices_of_one_seller(direct_invoices) if direct_invoices else []
        pr = services.payment_request_create(
            actor=by,
            name=name,
            amount=None if invoices else Decimal(amount),
            type="direct" if invoices else "advanced",
            note=note,
            payment_method=methods.get(method or "") if not invoices else None,
        )
        if not invoices and not pr.bank_account:  # no payment methods seeded: pay the company account
            services.payment_request_update(
                pr=pr,
                actor=by,
                bank_name="Vietcombank",
                bank_account="0011004123456",
                account_name="CÔNG TY TNHH ACOUNTEE VIỆT NAM",
            )
        for invoice in invoices:
            invoice_link(invoice=invoice, pr=pr, actor=by)
        if not invoices:  # an advanced request carries its supporting document
            document = stored_file_create(
                content=SUPPORTING_PDF + name.encode(), name="de-nghi-thanh-toan.pdf", created_by=by
            )
            payment_request_attachment_add(pr=pr, file=document, actor=by)
        log(f"  PR {name}")
        return pr

    # draft
    make(
        "Tạm ứng công tác phí Đà Nẵng — tháng 12/2026",
        "6500000",
        method="Tài khoản phụ — Techcombank",
        note="Nhân viên kinh doanh đi gặp khách hàng 3 ngày",
    )
    # pending, first step
    pr = make("Thanh toán tiền điện tháng 10/2026", "18450000", method="Điện lực Hà Nội (EVNHANOI)")
    if pr:
        services.payment_request_request_approval(pr=pr, actor=maker)
    # pending, one approval given (direct from imported invoices when there are some: the chain follows
    # their total; else an advanced request for the typed amount)
    pr = make("Thanh toán nhà cung cấp — hoá đơn tháng 6-7/2026", "65000000", direct_invoices=3)
    if pr:
        services.payment_request_request_approval(pr=pr, actor=maker)
        _approve_places(pr, 1)
    # approved, waiting for payment
    pr = make("Cước Internet và điện thoại quý IV/2026", "12800000", method="Viettel Telecom")
    if pr:
        services.payment_request_request_approval(pr=pr, actor=maker)
        _approve_all(pr)
    # completed with the bank's reference
    pr = make(
        "Thuê văn phòng tháng 11/2026",
        "85000000",
        method="Tài khoản chi chính — Vietcombank",
        note="Hợp đồng thuê số 12/2026/HĐTN",
    )
    if pr:
        services.payment_request_request_approval(pr=pr, actor=maker)
        _approve_all(pr)
        services.payment_request_complete(pr=pr, actor=finance, payment_reference="FT26333123456789")
    # rejected back to draft, with the reason on the request
    pr = make("Sửa chữa điều hoà phòng họp", "9200000", method="Tài khoản phụ — Techcombank")
    if pr:
        services.payment_request_request_approval(pr=pr, actor=maker)
        services.payment_request_reject(pr=pr, actor=director, reason="Cần thêm báo giá thứ hai để so sánh")
    # recalled by the maker after a first approval on a big request
    pr = make("Mua máy chủ lưu trữ dự phòng", "120000000", method="Tài khoản chi chính — Vietcombank")
    if pr:
        services.payment_request_request_approval(pr=pr, actor=maker)
        _approve_places(pr, 1)
        services.payment_request_recall(pr=pr, actor=maker)
    # the chief accountant's own large request: her step goes to the flow's alternate (the owner)
    pr = make(
        "Tạm ứng hội nghị khách hàng cuối năm",
        "75000000",
        method="Tài khoản chi chính — Vietcombank",
        by=chief,
        note="Kế toán trưởng tự lập: bước Kế toán trưởng do chủ sở hữu duyệt thay",
    )
    if pr:
        services.payment_request_request_approval(pr=pr, actor=chief)
    _seed_changed_bank_account(users, log)


def _seed_changed_bank_account(users: dict[str, Any], log: Callable[[str], Any]) -> None:
    """A supplier paid once to one account, whose next invoice names another one: the new request
    is flagged as a new payee and shows the old account beside the new one."""
    from invoices.services import invoice_payment_details_update
    from payments import services
    from payments.models import PaymentRequest
    from payments.services import invoice_link

    paid_name = "Thanh toán nhà cung cấp — hoá đơn đã trả"
    changed_name = "Thanh toán nhà cung cấp — tài khoản mới"
    if PaymentRequest.objects.filter(name__in=[paid_name, changed_name]).exists():
        return
    maker, finance = users[MAKER], users[FINANCE]
    pair = _free_invoices_of_one_seller(2)
    if len(pair) < 2:
        log("  (too few invoices of one seller for the changed-account example)")
        return
    first, second = pair
    paid = services.payment_request_create(actor=maker, name=paid_name, type="direct")
    invoice_link(invoice=first, pr=paid, actor=maker)
    services.payment_request_request_approval(pr=paid, actor=maker)
    _approve_all(paid)
    services.payment_request_complete(pr=paid, actor=finance, payment_reference="FT26340998877665")
    invoice_payment_details_update(
        invoice=second, actor=maker, payment_bank_name="Ngân hàng TMCP Á Châu (ACB)", payment_bank_account="8899001122"
    )
    changed = services.payment_request_create(
        actor=maker,
        name=changed_name,
        type="direct",
        note="Nhà cung cấp báo đổi tài khoản qua e-mail: cần gọi xác minh",
    )
    invoice_link(invoice=second, pr=changed, actor=maker)
    services.payment_request_request_approval(pr=changed, actor=maker)
    log(f"  PR {paid_name}")
    log(f"  PR {changed_name} (new payee account, old → new shown)")
