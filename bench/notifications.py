"""Notification worker benchmark (issue 7). Prints figures; asserts nothing about time.

    psql -h 127.0.0.1 -U postgres -c 'create database acountee_notifications'
    PGURI=postgres://postgres@127.0.0.1:5432/acountee_notifications .venv/bin/python bench/notifications.py [-n 2000]

1. one worker pass over N pending e-mail deliveries, in-memory mail backend (the worker's own
   cost: claim with SKIP LOCKED, render, record, commit — one transaction per delivery);
2. the same through real SMTP to a local aiosmtpd server, with 1 and with 2 worker processes
   (`manage.py dispatch_notifications --once`) side by side; checks every delivery arrived
   exactly once (by the X-Acountee-Delivery header).

Migrates the database PGURI names first and adds its own data.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "acountee.settings")
os.environ.setdefault("DEBUG", "false")


def setup_django() -> None:
    if not os.environ.get("PGURI"):
        sys.exit("Set PGURI to a database of your own (see the docstring).")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_pending(n: int, tag: str) -> list[int]:
    """n pending e-mail deliveries (data set-up in bulk, not the code under test)."""
    from decimal import Decimal

    from django.utils import timezone

    from accounts.models import User
    from payments.models import PaymentRequest
    from payments.notifications.models import Notification, NotificationDelivery

    user = User.objects.create(email=f"bench-{tag}@acountee.test", name="Bench")
    pr = PaymentRequest.objects.create(name=f"bench {tag}", amount=Decimal("1000000"), maker=user)
    notifications = Notification.objects.bulk_create(
        [
            Notification(
                recipient=user,
                kind="approval_requested",
                pr=pr,
                title=f"PR #{pr.pk} awaits you",
                body="bench",
                in_app=True,
            )
            for _ in range(n)
        ]
    )
    now = timezone.now()
    deliveries = NotificationDelivery.objects.bulk_create(
        [
            NotificationDelivery(
                notification=x, channel="email", status="pending", address=user.email, next_attempt_at=now
            )
            for x in notifications
        ]
    )
    return [d.pk for d in deliveries]


def bench_locmem(n: int, tag: str) -> None:
    from django.test.utils import override_settings

    from payments.notifications.services import deliveries_dispatch

    make_pending(n, f"locmem-{tag}")
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        started = time.perf_counter()
        result = deliveries_dispatch()
        elapsed = time.perf_counter() - started
    print(
        f"1 worker, in-memory backend: {len(result.sent)} e-mails in {elapsed:.2f} s "
        f"= {len(result.sent) / elapsed:.0f}/s ({elapsed / max(len(result.sent), 1) * 1000:.2f} ms each)"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_smtp(n: int, workers: int, tag: str) -> None:
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self) -> None:
            self.lock = threading.Lock()
            self.ids: list[int] = []

        async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook name
            for line in envelope.content.splitlines():
                if line.startswith(b"X-Acountee-Delivery:"):
                    with self.lock:
                        self.ids.append(int(line.split(b":")[1]))
            return "250 OK"

    expected = make_pending(n, f"smtp{workers}-{tag}")
    port = free_port()
    inbox = Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    env = {
        **os.environ,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
        "EMAIL_USE_TLS": "false",
    }
    try:
        started = time.perf_counter()
        procs = [
            subprocess.Popen(
                [sys.executable, "manage.py", "dispatch_notifications", "--once"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(workers)
        ]
        outputs = [p.communicate()[0].strip() for p in procs]
        elapsed = time.perf_counter() - started
    finally:
        server.stop()
    got = sorted(i for i in inbox.ids if i in set(expected))
    duplicates = len(got) - len(set(got))
    print(
        f"{workers} worker process(es), local SMTP: {len(got)} e-mails in {elapsed:.2f} s "
        f"= {len(got) / elapsed:.0f}/s (incl. process start-up); duplicates {duplicates}, "
        f"missing {len(set(expected) - set(got))}; workers said {outputs}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=2000)
    args = parser.parse_args()
    setup_django()
    tag = str(int(time.time()))
    bench_locmem(args.n, tag)
    bench_smtp(args.n, 1, tag)
    bench_smtp(args.n, 2, tag)


if __name__ == "__main__":
    main()
