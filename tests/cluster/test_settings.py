"""The settings and pieces of docs/deployment.md that need no cluster: what PGURI_POOLED, PGURI_DIRECT and
PGURI_REPLICA make of DATABASES (loaded for real in a subprocess), what a connection through PgBouncer sends,
where LISTEN connects, PgBouncer's connect_query, and the WAL positions of the read-your-writes cookie.
tests/cluster/test_cluster.py proves the whole on a real replica and PgBouncer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection, connections
from django.test import override_settings

from acountee.db.audit_key import KEY_SETTING
from acountee.db.direct import session_connection_params
from acountee.db.pgbouncer import connect_query, database_line
from acountee.db.router import format_lsn, parse_lsn, replica_configured, replica_status

ROOT = Path(__file__).resolve().parents[2]
PRIMARY = "postgres://acountee_app@primary.example:5432/acountee"
BOUNCER = "postgres://acountee_app@pgbouncer.example:6432/acountee"
REPLICA = "postgres://acountee_app@replica.example:5433/acountee"
DUMP = (
    "import django, json; django.setup()\n"
    "from django.conf import settings as s\n"
    "from django.db import connections\n"
    "d = s.DATABASES\n"
    "out = {'aliases': sorted(d), 'routers': s.DATABASE_ROUTERS,\n"
    " 'middleware': 'acountee.db.router.ReadYourWritesMiddleware' in s.MIDDLEWARE,\n"
    " 'default_ssc': d['default'].get('DISABLE_SERVER_SIDE_CURSORS', False),\n"
    " 'default_options': 'options' in connections['default'].get_connection_params(),\n"
    " 'direct': s.DATABASE_DIRECT}\n"
    "if 'replica' in d:\n"
    "    r = d['replica']\n"
    "    out['replica'] = [r['HOST'], r['PORT'], r['USER'], r['TEST'], r.get('DISABLE_SERVER_SIDE_CURSORS', False),\n"
    "                      'options' in connections['replica'].get_connection_params()]\n"
    "print(json.dumps(out, default=str))"
)


def load(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PGURI", "PYTEST"))}
    clean.update(ACOUNTEE_ENV="test", DJANGO_SETTINGS_MODULE="acountee.settings", **env)
    return subprocess.run(
        [sys.executable, "-c", DUMP], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60, check=False
    )


def dump(**env: str) -> dict:
    result = load(**env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_the_new_settings_there_is_one_database_and_no_router():
    settings = dump(PGURI=PRIMARY)
    assert settings["aliases"] == ["default"]
    assert settings["routers"] == []
    assert settings["middleware"] is False
    assert settings["default_ssc"] is False
    assert settings["default_options"] is True  # the timeouts and the audit key in the start-up options
    assert settings["direct"] is None


def test_pooled_replica_and_direct():
    settings = dump(PGURI=BOUNCER, PGURI_POOLED="true", PGURI_DIRECT=PRIMARY, PGURI_REPLICA=REPLICA)
    assert settings["aliases"] == ["default", "replica"]
    assert settings["routers"] == ["acountee.db.router.ReplicaRouter"]
    assert settings["middleware"] is True
    # Through PgBouncer: no server-side cursors, no start-up options (PgBouncer refuses them).
    assert settings["default_ssc"] is True
    assert settings["default_options"] is False
    assert settings["direct"]["HOST"] == "primary.example"
    # The replica is its own server, reached directly: start-up options and server-side cursors work there;
    # its tests mirror the default database.
    host, port, user, test, ssc, options = settings["replica"]
    assert (host, str(port), user) == ("replica.example", "5433", "acountee_app")
    assert test["MIRROR"] == "default"
    assert ssc is False and options is True


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PGURI": BOUNCER, "PGURI_POOLED": "true"}, "PGURI_POOLED needs PGURI_DIRECT"),
        ({"PGURI": PRIMARY, "PGURI_REPLICA": REPLICA.replace("/acountee", "/other")}, "same database"),
        ({"PGURI_REPLICA": REPLICA}, "need PGURI too"),
    ],
)
def test_inconsistent_settings_are_refused(env, message):
    result = load(**env)
    assert result.returncode != 0
    assert message in result.stderr


def test_listen_connections_go_to_pguri_direct_with_the_audit_key():
    """LISTEN needs a session: with PGURI_DIRECT, the live hub and the workers connect to the primary itself,
    with the start-up options (timeouts, audit key) a direct server accepts."""
    direct = {"USER": "acountee_app", "PASSWORD": "", "HOST": "primary.example", "PORT": "5432"}
    with override_settings(DATABASE_DIRECT=direct):
        params = session_connection_params()
    assert (params["host"], str(params["port"])) == ("primary.example", "5432")
    assert f"-c {KEY_SETTING}=" in params["options"]
    # Without it: the default database's own parameters.
    assert session_connection_params()["dbname"] == connection.settings_dict["NAME"]


def test_a_pooled_connection_sends_no_start_up_options_but_the_owner_one_does():
    backend = type(connections["default"])
    settings_dict = {**connection.settings_dict}
    settings_dict["POOLED_AT"] = [str(settings_dict["HOST"]), str(settings_dict["PORT"])]
    pooled = backend(settings_dict, alias="pooled-probe")
    assert pooled.pooled()
    assert "options" not in pooled.get_connection_params()
    elsewhere = backend({**settings_dict, "PORT": "1"}, alias="direct-probe")
    assert not elsewhere.pooled()
    assert f"-c {KEY_SETTING}=" in elsewhere.get_connection_params()["options"]


def test_pgbouncer_connect_query_sets_the_timeouts_and_the_key_without_single_quotes(settings):
    query = connect_query()
    assert "'" not in query  # PgBouncer reads connect_query inside single quotes
    assert f"SET statement_timeout = {settings.DB_STATEMENT_TIMEOUT_MS}" in query
    assert f"SET lock_timeout = {settings.DB_LOCK_TIMEOUT_MS}" in query
    assert f"set_config($${KEY_SETTING}$$, $$" in query
    line = database_line(name="acountee", host="10.0.0.5", port=5432, dbname="acountee")
    assert line.startswith("acountee = host=10.0.0.5 port=5432 dbname=acountee connect_query='")
    assert line.endswith("'")


def test_the_connect_query_runs_and_sets_what_the_start_up_options_set(db):
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        try:
            for statement in connect_query().replace(", false)", ", true)").split("; "):
                local = statement.replace("SET ", "SET LOCAL ", 1) if statement.startswith("SET ") else statement
                cursor.execute(local)
            cursor.execute(f"SELECT current_setting('statement_timeout'), current_setting('{KEY_SETTING}')")
            timeout, pads = cursor.fetchone()
        finally:
            cursor.execute("ROLLBACK")
    assert timeout in ("30s", "30000ms")
    assert len(pads) == 256


def test_wal_positions_round_trip():
    assert parse_lsn("0/3000060") == 0x3000060
    assert parse_lsn("1A/FF") == (0x1A << 32) + 0xFF
    assert format_lsn(parse_lsn("16/B374D848")) == "16/B374D848"
    assert parse_lsn(None) is None and parse_lsn("") is None and parse_lsn("zz/1") is None
    assert parse_lsn("0/10") > parse_lsn("0/F")


def test_without_a_replica_the_router_is_idle():
    assert replica_configured() is False
    assert replica_status() is None
