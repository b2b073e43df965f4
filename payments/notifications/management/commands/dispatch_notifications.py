"""`manage.py dispatch_notifications [--once]`: deliver pending notifications and webhooks
(docs/webhooks.md: the webhook outbox is a sibling pass of the same loop).

Without --once it loops (`services.worker_run`): deliver everything due, then wait for a
wake-up from PostgreSQL (NOTIFY at the commit of an approval that queued e-mail) or
NOTIFICATION_POLL_SECONDS. Any number of workers may run side by side (rows are claimed with
FOR UPDATE SKIP LOCKED). SIGTERM/SIGINT finish the delivery in hand and stop."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings

from audit.commands import SystemCommand
from audit.partitions import partitions_pass
from payments.notifications.services import DispatchResult, deliveries_dispatch, worker_run
from payments.reports.rollups import rollups_pass
from payments.webhooks import services as webhooks


class Command(SystemCommand):
    help = "Deliver pending notifications (e-mail) and webhooks; loops unless --once."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="One pass over what is due, then exit.")
        parser.add_argument("--limit", type=int, default=None, help="At most this many deliveries per pass.")

    def handle(self, *args: Any, once: bool = False, limit: int | None = None, **options: Any) -> None:
        if once:
            result = deliveries_dispatch(limit=limit)
            self.stdout.write(f"sent {len(result.sent)}, failed {len(result.failed)}")
            hooks = webhooks.webhook_deliveries_dispatch(limit=limit)
            delivered, retrying, failed = len(hooks.delivered), len(hooks.retrying), len(hooks.failed)
            self.stdout.write(f"webhooks: delivered {delivered}, retrying {retrying}, failed {failed}")
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        poll = settings.NOTIFICATION_POLL_SECONDS
        self.stdout.write(f"dispatch_notifications: waiting for work (wake-ups, or every {poll}s)")

        def report(result: DispatchResult) -> None:
            self.stdout.write(f"sent {len(result.sent)}, failed {len(result.failed)}")

        worker_run(
            stop=stop,
            poll_seconds=poll,
            limit=limit or 100,
            on_pass=report,
            # partitions and rollup compaction: hourly, docs/audit.md, docs/reports.md
            also=[webhooks.webhook_pass, partitions_pass, rollups_pass],
            also_channels=[webhooks.WAKE_CHANNEL],
        )
