from typing import Any

from django.db import transaction

from acountee.demo import DEMO_PASSWORD, DEMO_STEPS, DEMO_USERS
from audit.commands import SystemCommand


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
