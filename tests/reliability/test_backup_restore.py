"""Backup and restore round trip (issue 11): the whole system — users, invoices, PRs with
their chains, stored files (bytea), notifications, the audit log and its seals — dumped with
`pg_dump -Fc`, restored with `pg_restore` into a fresh database on the same server, and
compared table by table (row count and a checksum of every row's content) and sequence by
sequence; then `verify_audit` passes against the restored database.

Runs against whichever server the suite uses (embedded PostgreSQL 18, or PGURI's, e.g. 15):
`acountee.db.backup` picks the client tools of the server's major version."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from psycopg import sql

from acountee.db import backup
from files.models import StoredFile

pytestmark = pytest.mark.slow

TABLES_SQL = """
SELECT c.relname FROM pg_class c
 WHERE c.relkind IN ('r', 'p') AND c.relnamespace = 'public'::regnamespace ORDER BY 1
"""
SEQUENCES_SQL = "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1"


def _conninfo(dbname: str) -> dict:
    db = connection.settings_dict
    return {
        "host": db["HOST"] or None,
        "port": db["PORT"] or None,
        "dbname": dbname,
        "user": db["USER"] or None,
        "password": db["PASSWORD"] or None,
    }


def fingerprint(dbname: str) -> dict[str, tuple]:
    """Per table: (row count, md5 over every row's text, in a stable order); per sequence: last value."""
    result: dict[str, tuple] = {}
    with psycopg.connect(**_conninfo(dbname)) as conn:
        for (table,) in conn.execute(TABLES_SQL).fetchall():
            query = sql.SQL("SELECT count(*), md5(COALESCE(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {} t")
            result[table] = tuple(conn.execute(query.format(sql.Identifier(table))).fetchone())
        for name, last_value in conn.execute(SEQUENCES_SQL).fetchall():
            result[f"sequence {name}"] = (last_value,)
    return result


@contextmanager
def default_database_named(name: str) -> Iterator[None]:
    """Point the app's connection at another database on the same server, as PGURI would."""
    saved = connection.settings_dict["NAME"]
    connection.close()
    connection.close_pool()
    connection.settings_dict["NAME"] = name
    try:
        yield
    finally:
        connection.close()
        connection.close_pool()
        connection.settings_dict["NAME"] = saved


@pytest.fixture
def restored_name(transactional_db) -> Iterator[str]:
    name = f"{connection.settings_dict['NAME']}_restored"
    # The owner role creates (backup.restore) and drops databases; the app's role may not.
    owner = backup.owner_database(connection.settings_dict)
    admin = {
        **_conninfo(connection.settings_dict["NAME"]),
        "user": owner["USER"] or None,
        "password": owner["PASSWORD"] or None,
        "host": owner["HOST"] or None,
        "port": owner["PORT"] or None,
    }

    def drop() -> None:
        with psycopg.connect(**admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    drop()
    yield name
    drop()


def test_dump_restore_round_trip_reproduces_everything_and_passes_verify_audit(restored_name, tmp_path: Path):
    call_command("seed_demo", stdout=StringIO())
    assert StoredFile.objects.exists(), "the demo stores files: the round trip must carry their bytes"
    source = fingerprint(connection.settings_dict["NAME"])
    assert source["audit"][0] > 0 and source["files"][0] > 0 and source["invoices"][0] > 0 and source["pr"][0] > 0

    archive = tmp_path / "acountee.dump"
    backup.dump(connection.settings_dict, archive)
    backup.restore(connection.settings_dict, archive, restored_name)

    restored = fingerprint(restored_name)
    assert restored.keys() == source.keys()
    different = {name: (source[name], restored[name]) for name in source if source[name] != restored[name]}
    assert not different, different

    report = backup.verify(restored_name)
    assert "Audit log intact" in report
    with default_database_named(restored_name):
        # The restored system serves through the app's own connection, file bytes included.
        assert StoredFile.objects.count() == source["files"][0]
        with connection.cursor() as cursor:
            cursor.execute("SELECT bool_and(content IS NOT NULL AND octet_length(content) > 0) FROM files")
            assert cursor.fetchone()[0] is True
    print(
        f"\nbackup/restore: {len(source)} tables and sequences identical; archive {archive.stat().st_size} bytes; "
        f"{source['audit'][0]} audit entries verified on the restored database"
    )
