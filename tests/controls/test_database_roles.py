"""The application runs as a role that cannot switch the audit off (issue #17).

The runtime role (PGURI; `acountee_app` on the embedded server) is no superuser and owns no
table, so `ALTER TABLE … DISABLE TRIGGER` and `SET session_replication_role` fail for it;
migrations run as the owner role (PGURI_OWNER). `check --deploy` warns when the runtime role
is a superuser or owns the tables (the legacy single-PGURI setup)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.db import DatabaseError, connection, transaction

from acountee.db.roles import owner_connection, owner_settings, role_facts
from tests.audit.helpers import superuser_connection
from tests.security.conftest import production_env, run_python

DEPLOY_CHECK = (
    "import django; django.setup()\n"
    "from django.core.management import call_command\n"
    "call_command('check', deploy=True)\n"
)

needs_separate_owner = pytest.mark.skipif(
    "not __import__('acountee.db.roles', fromlist=['x']).owner_settings()",
    reason="only PGURI is set: the application runs as the owner role (legacy; check --deploy warns)",
)


def _refused(sql: str) -> str:
    with pytest.raises(DatabaseError) as excinfo, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    return str(excinfo.value)


def _uri(creds: dict, dbname: str) -> str:
    user = quote(str(creds["USER"]), safe="")
    password = f":{quote(str(creds['PASSWORD']), safe='')}" if creds.get("PASSWORD") else ""
    host = quote(str(creds.get("HOST") or "127.0.0.1"), safe="")
    return f"postgres://{user}{password}@{host}:{creds.get('PORT') or 5432}/{dbname}"


@needs_separate_owner
@pytest.mark.django_db
def test_least_privilege_db_role_runtime_is_no_superuser_owns_no_table_cannot_switch_triggers_off():
    name, superuser, owned = role_facts(connection)
    assert name == connection.settings_dict["USER"] != owner_settings()["USER"]
    assert superuser is False
    assert owned == []
    assert "must be owner" in _refused("ALTER TABLE pr DISABLE TRIGGER ALL")
    assert "must be owner" in _refused("ALTER TABLE audit DISABLE TRIGGER audit_append_only")
    assert "permission denied" in _refused("SET session_replication_role = replica")
    assert "permission denied" in _refused("SET LOCAL session_replication_role = replica")
    # The logs: not even granted, before any trigger is asked.
    for statement in (
        "UPDATE audit SET actor = 'x'",
        "DELETE FROM audit_seals",
        "TRUNCATE security_events",
        "TRUNCATE pr",
        "DROP TABLE pr",
        "CREATE TABLE mallory (id int)",
    ):
        assert "permission denied" in _refused(statement) or "must be owner" in _refused(statement), statement
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolcreaterole, rolcreatedb, rolbypassrls, rolreplication FROM pg_roles WHERE rolname = current_user"
        )
        assert cursor.fetchone() == (False, False, False, False)


@needs_separate_owner
@pytest.mark.django_db(transaction=True)
def test_a_table_the_owner_creates_later_is_usable_by_the_runtime_role_and_owned_by_the_owner():
    """Default privileges: a later migration's table needs no GRANT of its own."""
    with owner_connection(connection), connection.cursor() as cursor:
        cursor.execute("CREATE TABLE test_roles_later (id bigint GENERATED ALWAYS AS IDENTITY, note text)")
    try:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO test_roles_later (note) VALUES ('ok') RETURNING id")
            assert cursor.fetchone()[0] == 1
            cursor.execute("UPDATE test_roles_later SET note = 'still ok'")
        assert "must be owner" in _refused("ALTER TABLE test_roles_later DISABLE TRIGGER ALL")
        assert role_facts(connection)[2] == []
    finally:
        with owner_connection(connection), connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS test_roles_later")


@pytest.mark.django_db
def test_check_deploy_warns_when_the_runtime_role_is_a_superuser_owning_the_tables():
    """The legacy setup — one superuser PGURI that also ran the migrations — is reported."""
    with superuser_connection() as conn:
        info = conn.info
        creds = {"USER": info.user, "PASSWORD": info.password, "HOST": info.host, "PORT": info.port}
    result = run_python(DEPLOY_CHECK, production_env(PGURI=_uri(creds, connection.settings_dict["NAME"])))
    assert "acountee.W001" in result.stderr and "a superuser" in result.stderr
    assert "acountee.W002" in result.stderr and "owns" in result.stderr


@needs_separate_owner
@pytest.mark.django_db
def test_check_deploy_says_nothing_about_roles_when_the_app_runs_as_the_runtime_role():
    name = connection.settings_dict["NAME"]
    runtime = {key: connection.settings_dict[key] for key in ("USER", "PASSWORD", "HOST", "PORT")}
    result = run_python(
        DEPLOY_CHECK, production_env(PGURI=_uri(runtime, name), PGURI_OWNER=_uri(owner_settings(), name))
    )
    assert result.returncode == 0, result.stderr
    assert "acountee.W00" not in result.stderr
