"""`manage.py seed_demo`: demo data, one idempotent step per capability, in dependency order, so that
`make run` shows every capability working. It lives in the top app because it assembles all of them;
each app keeps its own step in its `demo.py` (a new capability adds its step here)."""

from collections.abc import Callable
from typing import Any

from django.db import transaction

from accounts.demo import DEMO_PASSWORD, DEMO_USERS, seed_accounts
from approvals.demo import seed_flows
from audit.commands import SystemCommand
from audit.demo import seed_audit
from files.demo import seed_files
from invoices.demo import seed_invoices
from payments.admin.home_demo import seed_admin_home
from payments.demo import seed_payment_requests, seed_payments
from payments.notifications.demo import seed_notifications
from payments.reports.demo import seed_reports
from payments.webhooks.demo import seed_webhooks
from payments.workbench.demo import seed_workbench

DEMO_STEPS: list[tuple[str, Callable[[Callable[[str], Any]], None]]] = [
    ("accounts", seed_accounts),
    ("files", seed_files),
    ("invoices", seed_invoices),
    ("payments", seed_payments),
    ("approval flows", seed_flows),
    # before the requests: their real transitions then notify per these preferences
    ("notifications", seed_notifications),
    ("webhooks", seed_webhooks),
    ("payment requests", seed_payment_requests),
    ("workbench", seed_workbench),
    ("reports", seed_reports),
    ("audit", seed_audit),
    # last: it reads what the steps above left waiting for each user
    ("admin home", seed_admin_home),
]


class Command(SystemCommand):
    help = "Load demo data (idempotent): users per role, teams, and each capability's sample records."

    def handle(self, *args: Any, **options: Any) -> None:
        for name, step in DEMO_STEPS:
            self.stdout.write(f"seeding {name}")
            with transaction.atomic():
                step(self.stdout.write)
        self.stdout.write(self.style.SUCCESS("Demo data ready. Sign in at /admin/ with any of:"))
        for email, _name, role, _team in DEMO_USERS:
            self.stdout.write(f"  {email:<28} {role:<8} password: {DEMO_PASSWORD}")
