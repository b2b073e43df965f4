"""`manage.py dispatch_notifications [--once]`: deliver pending notifications.

Without --once it loops: deliver everything due, then sleep NOTIFICATION_POLL_SECONDS. Any
number of workers may run side by side (rows are claimed with FOR UPDATE SKIP LOCKED).
SIGTERM/SIGINT finish the delivery in hand and stop."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections

from approvals.notifications.services import deliveries_dispatch


class Command(BaseCommand):
    help = "Deliver pending notifications (e-mail); loops unless --once."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="One pass over what is due, then exit.")
        parser.add_argument("--limit", type=int, default=None, help="At most this many deliveries per pass.")

    def handle(self, *args: Any, once: bool = False, limit: int | None = None, **options: Any) -> None:
        if once:
            result = deliveries_dispatch(limit=limit)
            self.stdout.write(f"sent {len(result.sent)}, failed {len(result.failed)}")
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write(f"dispatch_notifications: polling every {settings.NOTIFICATION_POLL_SECONDS}s")
        while not stop.is_set():
            try:
                close_old_connections()
                result = deliveries_dispatch(limit=limit or 100)
                if result.count:
                    self.stdout.write(f"sent {len(result.sent)}, failed {len(result.failed)}")
                    if not stop.is_set() and limit is None and result.count >= 100:
                        continue  # more may be due: no sleep
            except DatabaseError as exc:  # the database is away: wait and try again
                self.stderr.write(f"dispatch_notifications: database error: {exc}")
            stop.wait(settings.NOTIFICATION_POLL_SECONDS)
