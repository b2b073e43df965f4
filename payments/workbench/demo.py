"""Demo export templates for the finance users (idempotent: existing names are left alone).
The approvals demo already leaves approved PRs in the current month, so the Workbench page's
export shows them straight away."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

FINANCE_USERS = ["ketoan@acountee.local", "ketoan2@acountee.local"]
TEMPLATES = [
    (
        "Vietcombank — chuyển khoản lô",
        [
            {"key": "bank_account", "label": "Số tài khoản thụ hưởng"},
            {"key": "account_name", "label": "Tên người thụ hưởng"},
            {"key": "bank_name", "label": "Ngân hàng thụ hưởng"},
            {"key": "amount", "label": "Số tiền"},
            {"key": "name", "label": "Nội dung chuyển khoản"},
            {"key": "pr_id", "label": "Mã đề nghị"},
            {"key": "payment_reference", "label": "Mã giao dịch"},
        ],
    ),
    (
        "Kiểm tra nội bộ",
        [
            {"key": "pr_id", "label": "Mã ĐNTT"},
            {"key": "name", "label": "Tên"},
            {"key": "supplier", "label": "Nhà cung cấp"},
            {"key": "amount", "label": "Số tiền"},
            {"key": "bank_check", "label": "Kiểm tra tài khoản"},
            {"key": "maker", "label": "Người lập"},
        ],
    ),
]


def seed_workbench(log: Callable[[str], Any]) -> None:
    from accounts.models import User
    from payments.workbench.models import ExportTemplate
    from payments.workbench.services import export_template_create

    for user in User.objects.filter(email__in=FINANCE_USERS):
        if not user.has_capability("workbench"):
            continue
        for name, columns in TEMPLATES:
            if ExportTemplate.objects.filter(user=user, name=name).exists():
                continue
            export_template_create(actor=user, name=name, columns=columns)
            log(f"  export template {name} for {user.email}")
