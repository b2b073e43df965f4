"""Demo approval flows and payment requests in every state, made through the real services
by the demo users (idempotent: existing flows and PRs, by name, are left alone).

It shows the payment controls (docs/controls.md): chains chosen by amount, a chief accountant's
own request routed to her alternate, a new-payee alert and a supplier whose bank account changed
since it was last paid (old → new, side by side for the approvers)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

MAKER = "ketoan@acountee.local"
CHIEF_ACCOUNTANT = "ketoan2@acountee.local"
DIRECTOR = "giamdoc@acountee.local"
DEPUTY = "phogiamdoc@acountee.local"
FINANCE = "ketoan2@acountee.local"
OWNER = "owner@acountee.local"

FLOWS = [
    # name, description, min, max, [(step name, mode, [approver emails], [alternate emails])]
    (
        "Chi dưới 50 triệu",
        "Khoản chi nhỏ: một lãnh đạo duyệt là đủ.",
        None,
        "50000000",
        [("Ban giám đốc duyệt", "anyof", [DEPUTY, DIRECTOR], [])],
    ),
    (
        "Chi từ 50 triệu",
        "Khoản chi lớn: kế toán trưởng rồi cả hai lãnh đạo. Khi kế toán trưởng tự lập đề nghị, "
        "chủ sở hữu duyệt thay bước đầu.",
        "50000000",
        None,
        [
            ("Kế toán trưởng", "anyof", [CHIEF_ACCOUNTANT], [OWNER]),
            ("Giám đốc và Phó giám đốc", "allof", [DIRECTOR, DEPUTY], []),
        ],
    ),
    (
        "Tạm ứng công tác",
        "Tạm ứng cho nhân viên đi công tác (chuỗi riêng, chủ sở hữu chọn).",
        None,
        None,
        [("Giám đốc duyệt", "anyof", [DIRECTOR], [])],
    ),
]
# A small PDF standing for the contract or quotation an advanced request must carry.
SUPPORTING_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _users() -> dict[str, Any]:
    from accounts.models import User

    emails = {MAKER, CHIEF_ACCOUNTANT, DIRECTOR, DEPUTY, FINANCE, OWNER}
    return {u.email.lower(): u for u in User.objects.filter(email__in=emails)}


def _seed_flows(users: dict[str, Any], log: Callable[[str], Any]) -> dict[str, Any]:
    from approvals.models import ApprovalFlow
    from approvals.services import approval_flow_create

    owner = users[OWNER]
    flows = {}
    for name, description, lo, hi, steps in FLOWS:
        flow = ApprovalFlow.objects.filter(name=name).first()
        if flow is None:
            flow = approval_flow_create(
                actor=owner,
                name=name,
                description=description,
                min_amount=lo,
                max_amount=hi,
                steps=[
                    {
                        "name": s,
                        "mode": m,
                        "approvers": [users[e] for e in emails],
                        "alternates": [users[e] for e in alternates],
                    }
                    for s, m, emails, alternates in steps
                ],
            )
            log(f"  flow {name}")
        flows[name] = flow
    return flows


def _free_invoices_of_one_seller(count: int, *, exclude_tax_codes: tuple[str, ...] = ()) -> list[Any]:
    """Imported, unlinked invoices of one seller that names a bank account (for a direct PR)."""
    from invoices.models import Invoice, InvoiceStatus

    free = (
        Invoice.objects.filter(status=InvoiceStatus.IMPORTED, pr_link__isnull=True)
        .exclude(payment_bank_account="")
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
    from approvals import services
    from approvals.models import ApprovalRecord, ApprovalStep
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


def seed_approvals(log: Callable[[str], Any]) -> None:
    from approvals import services
    from files.services import stored_file_create
    from payments.models import PaymentMethod, PaymentRequest
    from payments.services import invoice_link, payment_request_attachment_add

    users = _users()
    if len(users) < 5:
        log("  (demo users missing: run the accounts step first)")
        return
    _seed_flows(users, log)
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
    from approvals import services
    from invoices.services import invoice_payment_details_update
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
