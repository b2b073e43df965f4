"""A real full disk: the `files` table moved to a 2 MB tmpfs tablespace of a throwaway server,
then a 4 MB upload through the API. PostgreSQL fails to extend the relation (ENOSPC, SQLSTATE
53100); the API answers 503 STORAGE_FULL, the upload's row and audit entry are gone, and once
there is space again (the table moved to a bigger disk) uploads work — same process, no restart.

Needs root and a kernel that lets this sandbox mount tmpfs; otherwise it is skipped with the
reason, and test_write_failure.py (a disk_full raised at COMMIT) still covers the path."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from rest_framework.test import APIClient

from tests.reliability.conftest import error_code
from tests.reliability.pgserver import SERVER_USER, ThrowawayServer

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture
def tiny_tablespace_server(django_db_blocker) -> Iterator[ThrowawayServer]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount_point = Path(tempfile.mkdtemp(prefix="acountee-tmpfs-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        mount_point.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    server = ThrowawayServer().init()
    saved = dict(connection.settings_dict)
    try:
        import pwd

        entry = pwd.getpwnam(SERVER_USER)
        os.chown(mount_point, entry.pw_uid, entry.pw_gid)
        server.start()
        server.create_database("acountee")
        env = {**os.environ, "PGURI": server.uri("acountee"), "ACOUNTEE_ENV": "test"}
        env.pop("PGTEST_DBNAME", None)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
        with psycopg.connect(server.uri("acountee"), autocommit=True) as conn:
            conn.execute(f"CREATE TABLESPACE tiny LOCATION '{mount_point}'")
            conn.execute("ALTER TABLE files SET TABLESPACE tiny")  # its TOAST table (the bytes) moves too
        with django_db_blocker.unblock():
            connection.close()
            connection.close_pool()
            connection.settings_dict.update(
                HOST="127.0.0.1", PORT=server.port, NAME="acountee", USER="postgres", PASSWORD=""
            )
            yield server
    finally:
        with django_db_blocker.unblock():
            connection.close()
            connection.close_pool()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
        server.destroy()
        with suppress(Exception):
            subprocess.run(["umount", str(mount_point)], check=True, capture_output=True)
            mount_point.rmdir()


def _counts() -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM files), (SELECT count(*) FROM audit)")
        return cursor.fetchone()


def test_upload_onto_a_full_tablespace_is_503_storage_full_and_leaves_nothing(tiny_tablespace_server):
    from accounts.services import api_token_create, user_create

    user = user_create(email="full@acountee.test", name="Full", roles=["finance"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user)[1]}")
    before = _counts()

    big = SimpleUploadedFile("big.pdf", b"%PDF-1.4\n" + os.urandom(4 * 1024 * 1024))
    response = client.post("/api/files/", {"file": big}, format="multipart")
    assert response.status_code == 503, response.content
    assert error_code(response) == "STORAGE_FULL"
    assert _counts() == before

    # An administrator gives it space (here: moves the table to the main disk); same process.
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE files SET TABLESPACE pg_default")
    small = SimpleUploadedFile("small.pdf", b"%PDF-1.4\n" + os.urandom(64 * 1024))
    response = client.post("/api/files/", {"file": small}, format="multipart")
    assert response.status_code == 201, response.content
    assert _counts()[0] == before[0] + 1
