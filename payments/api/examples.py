"""OpenAPI examples of the payment-request lifecycle (shown in /api/docs/; the demo data's shapes)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

_MAKER = {"id": 2, "email": "ketoan@acountee.local", "name": "Nguyễn Văn Kế Toán"}
_ROW = {
    "id": 42,
    "name": "Thanh toán tiền điện tháng 10/2026",
    "type": "advanced",
    "amount": "18450000.00",
    "currency": "VND",
    "status": "pending",
    "maker": _MAKER,
    "current_step": 1,
    "step_count": 1,
    "payment_reference": "",
    "created_at": "2026-11-02T09:15:00+07:00",
    "updated_at": "2026-11-02T09:20:00+07:00",
    "completed_at": None,
}
_DETAIL = {
    **_ROW,
    "status": "draft",
    "current_step": 0,
    "note": "Hoá đơn EVN kỳ 10/2026",
    "bank_name": "Vietcombank",
    "bank_account": "0011004123456",
    "account_name": "TỔNG CÔNG TY ĐIỆN LỰC HÀ NỘI",
    "bank_details": {
        "bank_name": "Vietcombank",
        "bank_account": "0011004123456",
        "account_name": "TỔNG CÔNG TY ĐIỆN LỰC HÀ NỘI",
        "source": "pr",
        "conflict": False,
        "missing": False,
        "candidates": [],
    },
    "approval": {
        "flow": 1,
        "flow_name": "Chi dưới 50 triệu",
        "current_step": 0,
        "steps": [
            {
                "number": 1,
                "name": "Ban giám đốc duyệt",
                "mode": "anyof",
                "state": "waiting",
                "approvers": [
                    {
                        "id": 5,
                        "name": "Hoàng Giám Đốc",
                        "email": "giamdoc@acountee.local",
                        "approved": False,
                        "approved_at": None,
                        "acted_by": None,
                    }
                ],
            }
        ],
    },
    "invoices": [],
    "invoices_total": None,
    "attachments": [],
}

PR_LIST = [OpenApiExample("A page of my approval queue (?awaiting_me=true)", value=[_ROW], response_only=True)]
PR_CREATE = [
    OpenApiExample(
        "Advance payment with a saved payment method; the chain comes from the flow whose amount range fits",
        value={
            "name": "Thanh toán tiền điện tháng 10/2026",
            "type": "advanced",
            "amount": "18450000",
            "note": "Hoá đơn EVN kỳ 10/2026",
            "payment_method": 3,
        },
        request_only=True,
    ),
    OpenApiExample(
        "Inline chain: two directors must both approve",
        value={
            "name": "Mua máy chủ lưu trữ dự phòng",
            "type": "advanced",
            "amount": "120000000",
            "bank_name": "Vietcombank",
            "bank_account": "0011004123456",
            "account_name": "CÔNG TY TNHH ABC",
            "steps": [{"name": "Ban giám đốc", "mode": "allof", "approvers": [5, 6]}],
        },
        request_only=True,
    ),
    OpenApiExample("The new draft", value=_DETAIL, response_only=True, status_codes=["201"]),
]
PR_APPROVE = [
    OpenApiExample(
        "Approve the step I am looking at (refused with STEP_CHANGED if it moved on)",
        value={"step": 1},
        request_only=True,
    ),
    OpenApiExample("Approve whatever step is current", value={}, request_only=True),
]
PR_COMPLETE = [
    OpenApiExample(
        "Paid: the bank transfer's reference", value={"payment_reference": "FT26333123456789"}, request_only=True
    ),
]
