"""Live updates benchmark (issue 19, docs/live.md): many open pages, one change, how fast all of them hear it.

Starts the real server as `make serve` runs it (gunicorn, uvicorn worker, the ASGI app, production settings,
DEBUG off) against your own database, opens N concurrent Server-Sent Events streams on /live/events as
signed-in users — most of them finance staff who see every request, the others people without a role who see
a request only because its chain names them (each event costs one visibility query per such stream) — then
approves a payment request in this process (a commit in another connection) and measures, per stream, the
time from the commit to the event's arrival. Several rounds, one approval each. Prints p50/p95/max, the server
worker's RSS and thread count with the streams open, and the database connections the server holds.

    PGURI=postgres://postgres@127.0.0.1:5432/acountee_live .venv/bin/python bench/live.py [--streams 200]
        [--scoped 50] [--rounds 5] [--workers 1]

The database is migrated first; the benchmark's users and requests stay (bench-live-* e-mails).
"""
# ruff: noqa: S603 - runs our own gunicorn with fixed arguments

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment() -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "acountee.settings",
            "ACOUNTEE_ENV": "production",
            "DEBUG": "false",
            "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-" + uuid.uuid4().hex + uuid.uuid4().hex,
            "AUDIT_CHAIN_KEY": os.environ.get("AUDIT_CHAIN_KEY") or "bench-live-audit-chain-key-not-a-secret",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "LOG_LEVEL": "WARNING",
        }
    )


def _prepare(streams: int, scoped: int, rounds: int) -> tuple[list[str], list[Any], Any]:
    """Users, one session each, and `rounds` pending requests whose second step names the scoped users."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    from tests.accounts.factories import UserFactory
    from tests.payments.factories import make_pr

    call_command("migrate", verbosity=0)
    tag = uuid.uuid4().hex[:8]
    finance = [
        UserFactory(email=f"bench-live-{tag}-f{i}@acountee.local", roles=["finance"]) for i in range(streams - scoped)
    ]
    limited = [UserFactory(email=f"bench-live-{tag}-s{i}@acountee.local", roles=[]) for i in range(scoped)]
    approver = UserFactory(email=f"bench-live-{tag}-approver@acountee.local", roles=["bod"])
    maker = finance[0]
    prs = [
        make_pr(maker=maker, steps=[("anyof", [approver]), ("anyof", limited or [approver])], request=True)
        for _ in range(rounds)
    ]
    cookies = []
    for user in finance + limited:
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "accounts.backends.RoleBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        cookies.append(session.session_key)
    return cookies, prs, approver


def _server(port: int, workers: int) -> subprocess.Popen[bytes]:
    cmd = [str(ROOT / ".venv" / "bin" / "gunicorn"), "acountee.asgi:application", "-k", "uvicorn_worker.UvicornWorker"]
    cmd += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", "60", "--log-level", "warning"]
    return subprocess.Popen(cmd, cwd=ROOT, env=dict(os.environ))


def _wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    import http.client

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not answer within 60 s")


class Client:
    """One open page: reads the stream, notes when each `pr` event arrives."""

    def __init__(self, port: int, cookie: str, cookie_name: str) -> None:
        self.port, self.cookie, self.cookie_name = port, cookie, cookie_name
        self.connected = asyncio.Event()
        self.arrivals: list[float] = []
        self.got = asyncio.Event()

    async def run(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(
            (
                f"GET /live/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                f"Cookie: {self.cookie_name}={self.cookie}\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        try:
            while line := await reader.readline():
                if b": connected" in line:
                    self.connected.set()
                elif line.startswith(b"event: pr"):
                    self.arrivals.append(time.time())
                    self.got.set()
        finally:
            writer.close()


def _server_figures(gunicorn: subprocess.Popen[bytes]) -> list[tuple[int, float, int, int]]:
    """Per worker: pid, RSS (MB), threads, TCP connections to the database server's port."""
    import psutil
    from django.db import connection

    db_port = int(connection.settings_dict.get("PORT") or 5432)
    master = psutil.Process(gunicorn.pid)
    out = []
    for worker in master.children():
        db = [c for c in worker.net_connections(kind="inet") if c.raddr and c.raddr.port == db_port]
        out.append((worker.pid, worker.memory_info().rss / 2**20, worker.num_threads(), len(db)))
    return out


def _live_connections() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'acountee-live'")
        return int(cursor.fetchone()[0])


async def _main(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.db import close_old_connections

    from payments import services

    loop = asyncio.get_running_loop()
    cookies, prs, approver = await loop.run_in_executor(None, _prepare, args.streams, args.scoped, args.rounds)
    port = _free_port()
    gunicorn = _server(port, args.workers)
    try:
        await loop.run_in_executor(None, _wait_ready, port, gunicorn)
        before = await loop.run_in_executor(None, _server_figures, gunicorn)
        clients = [Client(port, cookie, settings.SESSION_COOKIE_NAME) for cookie in cookies]
        started = time.monotonic()
        tasks = [asyncio.create_task(c.run()) for c in clients]
        await asyncio.wait_for(asyncio.gather(*(c.connected.wait() for c in clients)), 120)
        print(f"{len(clients)} streams open in {time.monotonic() - started:.2f} s")
        await asyncio.sleep(1)
        during = await loop.run_in_executor(None, _server_figures, gunicorn)
        listening = await loop.run_in_executor(None, _live_connections)
        latencies: list[float] = []
        for number, pr in enumerate(prs, 1):
            for c in clients:
                c.got.clear()

            def approve(pr: Any = pr) -> float:
                services.payment_request_approve(pr=pr, actor=approver)  # commits (autocommit: its own transaction)
                committed = time.time()
                close_old_connections()
                return committed

            committed = await loop.run_in_executor(None, approve)
            await asyncio.wait_for(asyncio.gather(*(c.got.wait() for c in clients)), 30)
            got = sorted(c.arrivals[-1] - committed for c in clients)
            latencies += got
            print(
                f"round {number}: all {len(got)} streams heard it; p50 {statistics.median(got) * 1000:.1f} ms,"
                f" max {got[-1] * 1000:.1f} ms"
            )
            await asyncio.sleep(0.5)
        latencies.sort()
        p95 = latencies[int(len(latencies) * 0.95) - 1]
        print(
            f"commit → event, {len(latencies)} deliveries: p50 {statistics.median(latencies) * 1000:.1f} ms,"
            f" p95 {p95 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms"
        )
        for (pid, rss0, threads0, db0), (_pid, rss1, threads1, db1) in zip(before, during, strict=False):
            print(
                f"worker {pid}, idle → {len(clients)} streams open: RSS {rss0:.1f} → {rss1:.1f} MB, threads {threads0}"
                f" → {threads1}, database connections {db0} → {db1}"
            )
        print(f"LISTEN connections (application_name acountee-live): {listening}")
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.sleep(1)
        after = await loop.run_in_executor(None, _server_figures, gunicorn)
        for pid, rss, threads, db in after:
            print(
                f"worker {pid} after the streams closed: RSS {rss:.1f} MB, threads {threads}, database connections {db}"
            )
    finally:
        gunicorn.terminate()
        gunicorn.wait(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--scoped", type=int, default=50, help="streams of users without a role (scoped by query)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    _environment()
    asyncio.run(_main(args))


if __name__ == "__main__":
    main()
