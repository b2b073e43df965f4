"""The database behaviour table (docs/architecture.md, "Database behaviour"), against the real server."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import IntegrityError, connection, connections, transaction

from accounts.models import Team, User, UserRole

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_connects_to_postgresql():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version_num')::int")
        (version,) = cursor.fetchone()
    assert version >= 150000


@pytest.mark.django_db
def test_each_connection_carries_the_configured_timeouts():
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        statement_timeout = cursor.fetchone()[0]
        cursor.execute("SHOW lock_timeout")
        lock_timeout = cursor.fetchone()[0]
        cursor.execute("SHOW idle_in_transaction_session_timeout")
        idle = cursor.fetchone()[0]
    assert statement_timeout == f"{settings.DB_STATEMENT_TIMEOUT_MS // 1000}s"
    assert lock_timeout == f"{settings.DB_LOCK_TIMEOUT_MS // 1000}s"
    assert idle == f"{settings.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS // 60000}min"


@pytest.mark.django_db
def test_foreign_keys_are_enforced_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        # Django's foreign keys are checked at commit; ask for the check now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "INSERT INTO user_roles (user_id, role_id, assigned_at) "
            "VALUES (987654321, (SELECT id FROM roles WHERE name = 'finance'), now())"
        )
    assert not UserRole.objects.filter(user_id=987654321).exists()


@pytest.mark.django_db
def test_a_failed_transaction_leaves_nothing_behind():
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        Team.objects.create(name="Half-written")
        User.objects.create(email="half@acountee.test")
        raise Boom
    assert not Team.objects.filter(name="Half-written").exists()
    assert not User.objects.filter(email="half@acountee.test").exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_do_not_deadlock():
    """Writers touching the same rows in one consistent order all finish, none deadlocks."""
    teams = [Team.objects.create(name=f"Team {i}") for i in range(3)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def writer(n: int) -> None:
        try:
            barrier.wait()
            for round_ in range(5):
                with transaction.atomic():
                    # Same lock order everywhere (by id) is what keeps this deadlock-free.
                    for team in Team.objects.select_for_update().filter(pk__in=[t.pk for t in teams]).order_by("pk"):
                        team.description = f"writer {n} round {round_}"
                        team.save(update_fields=["description"])
                    User.objects.create(email=f"w{n}-{round_}@acountee.test")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert User.objects.filter(email__startswith="w").count() == 40


def _run_with_pguri(args: list[str], pguri: str) -> tuple[int, str, float]:
    env = {**os.environ, "PGURI": pguri, "DB_CONNECT_TIMEOUT": "3"}
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - started


CLOSED_PORT_URI = "postgres://acountee:TopSecretPw@127.0.0.1:1/acountee"


@pytest.mark.parametrize(
    "args",
    [
        ["manage.py", "runserver", "127.0.0.1:0", "--noreload"],
        ["manage.py", "migrate"],
        ["-c", "import acountee.wsgi"],
    ],
    ids=["runserver", "migrate", "wsgi"],
)
def test_refuses_to_start_when_the_database_is_unreachable(args):
    code, output, elapsed = _run_with_pguri(args, CLOSED_PORT_URI)
    assert code != 0
    assert elapsed < 10
    assert "127.0.0.1:1" in output
    assert "acountee" in output
    assert "TopSecretPw" not in output
    assert "Traceback" not in output


def test_loading_the_settings_starts_no_database(tmp_path):
    """Tools that only load the settings (mypy's django plugin, IDEs, `manage.py help`) must not
    start the embedded server: it starts when a process first needs the database (docs/adr/0002)."""
    data_dir = tmp_path / "pg"
    env = {k: v for k, v in os.environ.items() if k not in {"PGURI", "PGURI_OWNER", "DJANGO_SETTINGS_MODULE"}}
    env["EMBEDDED_PG_DIR"] = str(data_dir)
    code = (
        "import os, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'acountee.settings'; django.setup();"
        "from django.conf import settings; print(settings.DATABASES['default']['HOST'] or 'no host yet')"
    )
    for args in (["-c", code], ["manage.py", "help"]):
        proc = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert not data_dir.exists(), f"{args}: created {data_dir}"
    assert (
        "no host yet"
        in subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        ).stdout
    )
