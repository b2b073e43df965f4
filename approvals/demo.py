"""Demo approval flows by amount range, made through the real services by the demo owner
(idempotent: existing flows, by name, are left alone). The payment requests that walk them are
the payments demo's (`payments.demo`)."""

from __future__ import annotations

from collections.abc import Callable
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
def demo_users() -> dict[str, Any]:
    from accounts.models import User

    emails = {MAKER, CHIEF_ACCOUNTANT, DIRECTOR, DEPUTY, FINANCE, OWNER}
    return {u.email.lower(): u for u in User.objects.filter(email__in=emails)}


def seed_flows(log: Callable[[str], Any]) -> None:
    users = demo_users()
    if len(users) < 5:
        log("  (demo users missing: run the accounts step first)")
        return
    _seed_flows(users, log)


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
