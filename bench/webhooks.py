"""Webhook delivery benchmark (issue 20). Prints figures; asserts nothing about time.

    psql -h 127.0.0.1 -U postgres -c 'create database acountee_webhooks'
    PGURI=postgres://postgres@127.0.0.1:5432/acountee_webhooks .venv/bin/python bench/webhooks.py [-n 200] [--rate 20]

A real HTTP receiver on 127.0.0.1 (tests/webhooks/receiver.py) and the `dispatch_notifications` loop
(`worker_run` with the webhook pass, LISTENing) in a thread of this process. N payment requests are made
pending (set-up, not measured), then approved one per transaction at `--rate` per second: each commit writes a
`payment_request.approved` event and its delivery. The receiver answers 500 to the first attempt of every
`--fail-every`-th event (then 200), so some deliveries are retried (backoff base WEBHOOK_RETRY_BASE_SECONDS,
set to 1 s here; retries fall due between wake-ups, so the worker's poll interval, 1 s here, adds to them).

Latency = the receiver's arrival time of the delivered attempt - the approval's commit (same clock).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "acountee.settings")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("WEBHOOK_RETRY_BASE_SECONDS", "1")
os.environ.setdefault("NOTIFICATION_POLL_SECONDS", "1")


def setup_django() -> None:
    if not os.environ.get("PGURI"):
        sys.exit("Set PGURI to a database of your own (see the docstring).")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="approvals committed per second")
    parser.add_argument("--fail-every", type=int, default=10, help="every k-th event's first attempt gets a 500")
    args = parser.parse_args()
    setup_django()

    from django.conf import settings
    from django.db import connection

    from payments import services
    from payments.notifications.services import worker_run
    from payments.webhooks import services as webhooks
    from payments.webhooks.models import WebhookDelivery, WebhookEndpoint
    from tests.accounts.factories import UserFactory
    from tests.payments.factories import make_pr
    from tests.webhooks.receiver import running_receiver

    tag = str(int(time.time()))
    owner = UserFactory(email=f"owner-{tag}@bench.test", roles=["owner"])
    maker = UserFactory(email=f"maker-{tag}@bench.test", roles=["finance"])
    approver = UserFactory(email=f"approver-{tag}@bench.test", roles=["bod"])
    WebhookEndpoint.objects.update(is_active=False)  # earlier runs' endpoints stay out of the way
    print(f"setting up {args.n} pending requests…", flush=True)
    prs = [
        make_pr(maker=maker, steps=[("anyof", [approver])], request=True, name=f"bench {tag} {i}")
        for i in range(args.n)
    ]
    with running_receiver() as receiver:
        # 500 for the first attempt of every k-th event (chosen as they are committed), 200 otherwise.
        failing: set[str] = set()
        seen: set[str] = set()
        lock = threading.Lock()

        def decide(headers: dict[str, str]) -> int:
            event_id = headers.get("Acountee-Event-Id", "")
            with lock:
                first = event_id not in seen
                seen.add(event_id)
                return 500 if first and event_id in failing else 200

        receiver.decide = decide
        endpoint = webhooks.webhook_endpoint_create(
            actor=owner, url=receiver.url, event_types=["payment_request.approved"]
        )
        stop = threading.Event()

        def run_worker() -> None:
            try:
                worker_run(
                    stop=stop,
                    poll_seconds=settings.NOTIFICATION_POLL_SECONDS,
                    also=[webhooks.webhook_pass],
                    also_channels=[webhooks.WAKE_CHANNEL],
                )
            finally:
                connection.close()

        worker = threading.Thread(target=run_worker, daemon=True)
        worker.start()
        time.sleep(1.0)
        committed: dict[str, float] = {}
        started = time.monotonic()
        for i, pr in enumerate(prs):
            services.payment_request_approve(pr=pr, actor=approver)
            at = time.monotonic()
            event_id = str(
                WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-id").values_list("event_id", flat=True)[0]
            )
            committed[event_id] = at
            if args.fail_every and i % args.fail_every == args.fail_every - 1:
                with lock:
                    failing.add(event_id)
            time.sleep(max(0.0, started + (i + 1) / args.rate - time.monotonic()))
        commit_seconds = time.monotonic() - started
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if WebhookDelivery.objects.filter(endpoint=endpoint, status="delivered").count() == args.n:
                break
            time.sleep(0.2)
        stop.set()
        worker.join(10)
        requests = list(receiver.requests)
    delivered_at: dict[str, float] = {}
    for request in requests:
        delivered_at[request.headers["Acountee-Event-Id"]] = request.at  # the last (successful) attempt
    first_try = [delivered_at[e] - committed[e] for e in committed if e in delivered_at and e not in failing]
    retried = [delivered_at[e] - committed[e] for e in committed if e in delivered_at and e in failing]
    rows = WebhookDelivery.objects.filter(endpoint=endpoint)
    achieved = args.n / commit_seconds
    print(f"{args.n} approvals committed in {commit_seconds:.1f} s ({achieved:.0f}/s, asked {args.rate:.0f}/s)")
    print(f"{len(requests)} POSTs received")
    print(f"delivered {rows.filter(status='delivered').count()}, pending {rows.filter(status='pending').count()}")
    print(f"attempts: {sum(rows.values_list('attempts', flat=True))} (retried deliveries: {len(failing)})")
    for name, values in [("first attempt", first_try), ("after one 500", retried)]:
        if values:
            print(
                f"{name}: n={len(values)} p50 {statistics.median(values) * 1000:.0f} ms, "
                f"p95 {percentile(values, 95) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms"
            )


if __name__ == "__main__":
    main()
