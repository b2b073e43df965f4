"""Refuse to start when the database cannot be reached (docs/operations.md).

Called by `manage.py` and the WSGI entry point before Django handles anything, so
`runserver`, `migrate`, gunicorn and every other command fail fast with a message that
names the server they tried — never the password — instead of a stack trace on the
first request.
"""

from __future__ import annotations

import sys
from typing import Any

# Commands that never touch the database.
COMMANDS_WITHOUT_DATABASE = frozenset(
    {
        "help",
        "version",
        "--help",
        "-h",
        "--version",
        "makemessages",
        "compilemessages",
        "pgbouncer_config",  # writes the configuration of the PgBouncer that is not running yet
        "startapp",
        "startproject",
        "collectstatic",
    }
)


class DatabaseUnreachable(SystemExit):
    pass


def describe_database(db: dict[str, Any]) -> str:
    """Human description of a DATABASES entry, with no secret in it."""
    host = db.get("HOST") or "localhost"
    port = db.get("PORT") or 5432
    return f"PostgreSQL database '{db.get('NAME')}' at {host}:{port} as user '{db.get('USER')}'"


def check_database_reachable(timeout_seconds: int = 5) -> None:
    """Open one short connection with the configured settings; exit(2) with a clear message if it fails."""
    import psycopg
    from django.conf import settings

    from acountee.db.embedded import ensure_embedded_server

    ensure_embedded_server()  # no PGURI: start (or find) the embedded server now
    db = settings.DATABASES["default"]
    try:
        conn = psycopg.connect(
            host=db.get("HOST") or None,
            port=db.get("PORT") or None,
            dbname=db.get("NAME"),
            user=db.get("USER") or None,
            password=db.get("PASSWORD") or None,
            connect_timeout=timeout_seconds,
        )
    except psycopg.Error as exc:
        reason = _first_line(str(exc), secret=db.get("PASSWORD"))
        sys.stderr.write(
            f"Acountee cannot start: cannot connect to the {describe_database(db)}.\n"
            f"Reason: {reason}\n"
            "Check PGURI (or unset it to use the embedded server) and that the server is running.\n"
        )
        raise DatabaseUnreachable(2) from None
    conn.close()


def _first_line(message: str, *, secret: str | None) -> str:
    line = (message.strip().splitlines() or ["unknown error"])[0]
    if secret:
        line = line.replace(secret, "***")
    return line


def command_needs_database(argv: list[str]) -> bool:
    return len(argv) > 1 and argv[1] not in COMMANDS_WITHOUT_DATABASE
