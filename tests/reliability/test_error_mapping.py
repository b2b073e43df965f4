"""`acountee.db.errors.domain_error`, the one mapping of database failures, fed with errors
PostgreSQL really raises (each SQLSTATE raised by the server, a real statement_timeout),
and through the API's exception handler for a real statement timeout."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from acountee.db.errors import domain_error


def _raised_by_server(sqlstate: str) -> DatabaseError:
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DO $$ BEGIN RAISE EXCEPTION 'raised for the test' USING ERRCODE = '{sqlstate}'; END $$")
    return caught.value


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sqlstate", "status", "code"),
    [
        ("55P03", 409, "BUSY"),  # lock_not_available (lock_timeout)
        ("40P01", 409, "CONFLICT_RETRY"),  # deadlock_detected
        ("40001", 409, "CONFLICT_RETRY"),  # serialization_failure
        ("57014", 503, "DATABASE_TIMEOUT"),  # query_canceled (statement_timeout)
        ("53100", 503, "STORAGE_FULL"),  # disk_full
        ("53400", 503, "STORAGE_FULL"),  # configuration_limit_exceeded (temp_file_limit)
        ("53200", 503, "DATABASE_UNAVAILABLE"),  # out_of_memory
        ("53300", 503, "DATABASE_UNAVAILABLE"),  # too_many_connections
        ("57P01", 503, "DATABASE_UNAVAILABLE"),  # admin_shutdown
        ("58030", 503, "DATABASE_UNAVAILABLE"),  # io_error
    ],
)
def test_each_sqlstate_maps_to_its_code(sqlstate, status, code):
    failure = domain_error(_raised_by_server(sqlstate))
    assert failure is not None
    assert (failure.error.status_code, failure.error.code) == (status, code)
    assert failure.retry_after > 0
    assert str(failure.error.message)


@pytest.mark.django_db
@pytest.mark.parametrize("sqlstate", ["23505", "42P01", "22003", "P0001"])
def test_bugs_and_bad_data_are_not_mapped(sqlstate):
    """A unique violation, missing table, overflow or plain RAISE is a bug to fix: it stays a 500."""
    assert domain_error(_raised_by_server(sqlstate)) is None


@pytest.mark.django_db
def test_non_database_errors_are_not_mapped():
    assert domain_error(ValueError("x")) is None
    assert domain_error(IntegrityError("no cause")) is None


@pytest.mark.django_db
def test_a_real_statement_timeout_maps_to_database_timeout():
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 50")
        cursor.execute("SELECT pg_sleep(2)")
    failure = domain_error(caught.value)
    assert failure is not None
    assert failure.error.code == "DATABASE_TIMEOUT"
