"""Property-based API contract test (issue 10): schemathesis generates requests from the
OpenAPI document the app itself serves (`/api/schema/`) and sends them in-process to the WSGI
app, signed in with a real token as an owner and as a plain finance user. Every response must
not be a server error, its status must be declared, and it must conform to the schema.

Each example runs inside a savepoint that is rolled back afterwards, so examples are independent
(and a database error in one example cannot poison the next).

Runs in `make test` with API_FUZZ_EXAMPLES=10 examples per operation and persona (about two minutes
on 2 cores), derandomized so a failure reproduces; raise API_FUZZ_EXAMPLES to dig deeper. Known
limit: path ids are generated, so detail operations mostly exercise the not-found path.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
MAX_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "10"))


@pytest.fixture
def _keep_test_connection():
    """The raw WSGI app closes "old" connections around each request, which would close the
    test's transaction; Django's own test client disconnects these handlers the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


# Loaded at collection: generating the document needs no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


def _token(user) -> str:
    from accounts.services import api_token_create

    _token_obj, key = api_token_create(user=user)
    return key


@pytest.fixture
def owner_header(owner) -> dict[str, str]:
    return {"Authorization": f"Token {_token(owner)}"}


@pytest.fixture
def finance_header(finance) -> dict[str, str]:
    return {"Authorization": f"Token {_token(finance)}"}


def _check(case, headers: dict[str, str]) -> None:
    savepoint = transaction.savepoint()
    try:
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS)
    finally:
        transaction.savepoint_rollback(savepoint)


FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)


@schema.parametrize()
@FUZZ_SETTINGS
def test_api_fuzz_as_owner(case, owner_header, _keep_test_connection):
    _check(case, owner_header)


@schema.parametrize()
@FUZZ_SETTINGS
def test_api_fuzz_as_finance(case, finance_header, _keep_test_connection):
    _check(case, finance_header)


def test_every_operation_declares_the_error_responses():
    """acountee.api.schema.add_error_responses: the error shape on every status a view can answer."""
    for path, operations in schema.raw_schema["paths"].items():
        for method, operation in operations.items():
            for code in ("400", "401", "403", "404", "503"):
                assert "application/json" in operation["responses"][code]["content"], (method, path, code)
