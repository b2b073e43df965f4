"""Demo users, one per role, in their teams (idempotent): the first step of `manage.py seed_demo`
(payments/management/commands/seed_demo.py), which runs every capability's demo step in order."""

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
