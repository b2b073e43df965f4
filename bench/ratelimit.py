"""API rate-limit counter benchmark (issue 20, docs/api-guard.md "Rate limits"). Prints figures; asserts nothing.

    psql -h 127.0.0.1 -U postgres -c 'create database acountee_ratelimit'
    PGURI=postgres://postgres@127.0.0.1:5432/acountee_ratelimit .venv/bin/python bench/ratelimit.py [-n 3000]

What one API request pays for its limit: the single upsert on `api_rate_counters`
(accounts.requestguard.ratelimit.hit), alone, on one hot key (one token hammering) and spread over many keys,
then with several connections at once on the same key (they queue on its row lock) and on distinct keys. Last,
a whole API list request (Django test client, token auth) with the limit off and on.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
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


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def timed(n: int, call: Callable[[int], object]) -> list[float]:
    out = []
    for i in range(n):
        start = time.perf_counter()
        call(i)
        out.append((time.perf_counter() - start) * 1000)
    return out


def report(label: str, ms: list[float]) -> None:
    print(
        f"{label:<44} n={len(ms):>5}  median {statistics.median(ms):6.3f} ms  p95 {percentile(ms, 95):6.3f} ms"
        f"  p99 {percentile(ms, 99):6.3f} ms"
    )


def concurrent(threads: int, per_thread: int, key_for: Callable[[int], str]) -> None:
    from django.db import connection

    from accounts.requestguard.ratelimit import hit

    latencies: list[float] = []
    lock = threading.Lock()

    def work(t: int) -> None:
        mine = timed(per_thread, lambda _i: hit(key_for(t), 60))
        connection.close()
        with lock:
            latencies.extend(mine)

    start = time.perf_counter()
    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - start
    same = key_for(0) == key_for(1)
    report(f"{threads} connections, {'one key' if same else 'a key each'}", latencies)
    print(f"{'':<44} {threads * per_thread / elapsed:8.0f} requests counted per second")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    setup_django()

    from django.db import connection
    from django.test import Client, override_settings

    from accounts.models import User
    from accounts.requestguard.models import ApiRateCounter
    from accounts.requestguard.ratelimit import hit
    from accounts.services import api_token_create

    ApiRateCounter.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        print(cursor.fetchone()[0].split(",")[0])
    hit("token:warm", 60)
    report("one key (one token hammering)", timed(args.n, lambda _i: hit("token:hot", 60)))
    report("1,000 keys in turn", timed(args.n, lambda i: hit(f"token:{i % 1000}", 60)))
    concurrent(args.threads, args.n // args.threads, lambda _t: "token:shared")
    concurrent(args.threads, args.n // args.threads, lambda t: f"token:thread-{t}")
    print(f"counter rows now: {ApiRateCounter.objects.count()}")

    user, _created = User.objects.get_or_create(email="bench-ratelimit@example.com", defaults={"name": "Bench"})
    _token, key = api_token_create(user=user)
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    url = "/api/tokens/"  # the caller's own tokens: any signed-in user may list them
    requests = max(200, args.n // 10)
    # Alternated request by request, so that the machine's other load weighs on both alike.
    off, on = override_settings(API_RATE_LIMIT_TOKEN=0), override_settings(API_RATE_LIMIT_TOKEN=10**9)
    times: dict[str, list[float]] = {"off": [], "on": []}
    client.get(url)
    for _ in range(requests):
        for label, setting in (("off", off), ("on", on)):
            with setting:
                times[label] += timed(1, lambda _i: client.get(url))
    report("API list request, limit off", times["off"])
    report("API list request, limit on", times["on"])


if __name__ == "__main__":
    main()
