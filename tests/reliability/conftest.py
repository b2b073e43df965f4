"""Fixtures for the database fault tests: a rebuilt pool with test-sized settings, a raw
psycopg connection to the same test database (the "someone else" holding locks), and a PR
waiting for one approver, committed so that other connections see it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from django.db import connection

from tests.accounts.factories import UserFactory
from tests.payments.factories import make_pr


@contextmanager
def pool_settings(*, lock_timeout_ms: int | None = None, **pool: Any) -> Iterator[Any]:
    """Rebuild the default connection's pool with other `DB_POOL_*` values or another
    `DB_LOCK_TIMEOUT_MS` — what the environment variables would set — and put it back after."""
    saved = connection.settings_dict["OPTIONS"]
    options = {**saved, "pool": {**saved["pool"], **pool}}
    if lock_timeout_ms is not None:
        options["options"] = re.sub(r"lock_timeout=\d+", f"lock_timeout={lock_timeout_ms}", saved["options"])
    connection.close()
    connection.close_pool()
    connection.settings_dict["OPTIONS"] = options
    try:
        connection.pool.open()
        yield connection.pool
    finally:
        connection.close()
        connection.close_pool()
        connection.settings_dict["OPTIONS"] = saved


def _conninfo() -> dict[str, Any]:
    db = connection.settings_dict
    return {
        "host": db["HOST"] or None,
        "port": db["PORT"] or None,
        "dbname": db["NAME"],
        "user": db["USER"] or None,
        "password": db["PASSWORD"] or None,
        "application_name": "acountee-fault-test",
    }


@pytest.fixture
def raw_connection(transactional_db) -> Iterator[Callable[[], psycopg.Connection]]:
    """Opens raw psycopg connections (outside Django and its pool) to the test database."""
    opened: list[psycopg.Connection] = []

    def open_() -> psycopg.Connection:
        conn = psycopg.connect(**_conninfo())
        opened.append(conn)
        return conn

    yield open_
    for conn in opened:
        conn.close()


@pytest.fixture
def pending_pr(transactional_db) -> tuple[Any, Any]:
    """(pr, approver): a PR pending on a one-step chain whose only approver is `approver`."""
    maker = UserFactory(roles=["finance"])
    approver = UserFactory(roles=["bod"])
    pr = make_pr(maker=maker, steps=[("anyof", [approver])], request=True)
    return pr, approver


def approve_url(pr: Any) -> str:
    return f"/api/payment-requests/{pr.pk}/approve/"


def error_code(response: Any) -> str | None:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
