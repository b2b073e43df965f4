"""Demo payment methods: the company's and a few suppliers' bank accounts (idempotent)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
