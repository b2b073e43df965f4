"""Demo data, one idempotent step per capability. `manage.py seed_demo` runs them in order;
each app adds its step to DEMO_STEPS when it lands, so `make run` shows every capability."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

DEMO_PASSWORD = "Acountee-demo-2026"

DEMO_USERS = [
    # email, name, role, team
    ("owner@acountee.local", "Trần Thị Chủ", "owner", "Ban giám đốc"),
    ("ketoan@acountee.local", "Nguyễn Văn Kế Toán", "finance", "Kế toán"),
    ("ketoan2@acountee.local", "Lê Thị Thu", "finance", "Kế toán"),
    ("quantri@acountee.local", "Phạm Quản Trị", "admin", "Hành chính"),
    ("giamdoc@acountee.local", "Hoàng Giám Đốc", "bod", "Ban giám đốc"),
    ("phogiamdoc@acountee.local", "Vũ Phó Giám Đốc", "bod", "Ban giám đốc"),
]

# Demo users chose the deployment's language (LANGUAGE_CODE: Vietnamese for `make run`, whatever
# the browser says; English in the test suite); the administrator chose English, to show that
# the choice is per user (the admin header switches it).
DEMO_LANGUAGES = {"quantri@acountee.local": "en"}

DEMO_TEAMS = {
    "Kế toán": ("Phòng kế toán — thanh toán nhà cung cấp", ["workbench", "reports"]),
    "Ban giám đốc": ("Ban giám đốc — phê duyệt", ["reports"]),
    "Hành chính": ("Hành chính — quản trị hệ thống", []),
}


def seed_accounts(log: Callable[[str], Any]) -> None:
    from django.conf import settings

    from accounts import services
    from accounts.models import Role, Team, User

    teams = {}
    for name, (description, capabilities) in DEMO_TEAMS.items():
        teams[name], _created = Team.objects.get_or_create(
            name=name, defaults={"description": description, "capabilities": capabilities}
        )
    for email, name, role, team in DEMO_USERS:
        if User.objects.with_email(email).exists():
            continue
        user = services.user_create(email=email, password=DEMO_PASSWORD, name=name, team=teams[team])
        services.user_update(user=user, language=DEMO_LANGUAGES.get(email, settings.LANGUAGE_CODE))
        services.role_assign(user=user, role=Role.objects.get(name=role))
        log(f"  user {email} ({role})")


DEMO_STEPS: list[tuple[str, Callable[[Callable[[str], Any]], None]]] = [
    ("accounts", seed_accounts),
    ("files", lambda log: __import__("files.demo", fromlist=["seed_files"]).seed_files(log)),
    ("invoices", lambda log: __import__("invoices.demo", fromlist=["seed_invoices"]).seed_invoices(log)),
    ("payments", lambda log: __import__("payments.demo", fromlist=["seed_payments"]).seed_payments(log)),
    ("approval flows", lambda log: __import__("approvals.demo", fromlist=["seed_flows"]).seed_flows(log)),
    # before the requests: their real transitions then notify per these preferences
    ("notifications", lambda log: __import__("payments.notifications.demo", fromlist=["x"]).seed_notifications(log)),
    ("payment requests", lambda log: __import__("payments.demo", fromlist=["x"]).seed_payment_requests(log)),
    ("workbench", lambda log: __import__("payments.workbench.demo", fromlist=["x"]).seed_workbench(log)),
    ("reports", lambda log: __import__("payments.reports.demo", fromlist=["x"]).seed_reports(log)),
    ("audit", lambda log: __import__("audit.demo", fromlist=["seed_audit"]).seed_audit(log)),
    # last: it reads what the steps above left waiting for each user
    ("admin home", lambda log: __import__("acountee.admin_demo", fromlist=["x"]).seed_admin_home(log)),
]
