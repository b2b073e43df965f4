"""Property-based API contract test (issue 10): schemathesis generates requests from the
OpenAPI document the app itself serves (`/api/schema/`) and sends them in-process to the WSGI
app, signed in with a real token as an owner and as a plain finance user.

Data: a realistic data set (tests/api/dataset.py: the demo data plus the finance persona's own
objects) is seeded once for the module inside an outer transaction rolled back at the end. Ids in
paths and id-valued body fields are mostly replaced by ids that exist (deterministically, from the
generated number; one in four is left as generated), so detail operations reach real invoices, PRs
in every state, files, notifications… and not only the 404 path.

Generation: positive and negative data (schemathesis' `modes`). As the owner: the explicit-examples,
coverage (every boundary, type and format case of every parameter; every API_FUZZ_COVERAGE_STRIDE-th
one is sent, default 2) and fuzzing phases; as finance: examples and fuzzing (twice the examples).
API_FUZZ_EXAMPLES (default 6) is the fuzzing phase's examples per operation, mode mix included. For a
deep local run: API_FUZZ_EXAMPLES=100 API_FUZZ_COVERAGE_STRIDE=1. Derandomized: a failure reproduces.

Every response: not a server error, its status declared, its body conforming to the schema, negative
data refused with a 4xx (JSON bodies and parameters); a PR detail's `invoices_total` matches its linked
invoices. Every example runs in a savepoint rolled back afterwards; before the rollback, a request
that was refused must have changed no audited row, and one that changed rows must leave the invariants
of tests/api/consistency.py whole (constraints, audit chain, links, chains). The counts per persona,
mode and phase are printed at the end of the run (`make test` on 2 shared cores: about 2-3 minutes).
"""

from __future__ import annotations

import copy
import os
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from audit.models import AuditEntry
from tests.api import consistency
from tests.api.dataset import Dataset, seed_dataset
from tests.audit.helpers import audit_mark

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
# Form and multipart bodies are text: `in_app=0` is how a form writes false, not a wrong type.
TEXT_BODIES = {"application/x-www-form-urlencoded", "multipart/form-data"}
MAX_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "6"))
COVERAGE_STRIDE = int(os.environ.get("API_FUZZ_COVERAGE_STRIDE", "2"))
# (persona, mode, phase) → examples sent; printed by tests/api/conftest.py.
COUNTS: Counter[tuple[str, str, str]] = Counter()
SEEN: Counter[str] = Counter()  # coverage cases met per persona and operation (see _sampled_out)
# Body fields that hold an id, and the pool they are drawn from ("ids" depends on the path).
ID_FIELDS = {
    "pr": "payment-requests",
    "file_id": "files",
    "role": "roles",
    "team": "teams",
    "parent": "roles",
    "flow": "approval-flows",
    "payment_method": "payment-methods",
    "substitute": "users",
    "approver": "users",
}

# Loaded at collection: generating the document needs no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
# The finance persona skips the coverage phase: its systematic boundary and type cases test input
# validation, which the owner run covers once (as finance, owner-only operations stop at the 403).
finance_schema = schemathesis.openapi.from_dict(copy.deepcopy(schema.raw_schema))
finance_schema.app = schema.app
finance_schema.config.phases.update(phases=["examples", "fuzzing"])


@pytest.fixture(scope="module")
def dataset(django_db_setup, django_db_blocker) -> Any:
    """Seeded once per module in a transaction that is rolled back afterwards; each test (and
    each example) nests its own savepoint inside it."""
    from accounts.services import api_token_create

    with django_db_blocker.unblock(), transaction.atomic():
        data = seed_dataset()
        data.headers = {
            persona: {"Authorization": f"Token {api_token_create(user=user)[1]}"}
            for persona, user in (("owner", data.owner), ("finance", data.finance))
        }
        data.audit_mark = audit_mark()  # every example is rolled back: newer entries are its own
        assert consistency.problems() == [], "the seeded data set itself must be consistent"
        yield data
        transaction.set_rollback(True)


@pytest.fixture
def _keep_test_connection(db):
    """The raw WSGI app closes "old" connections around each request, which would close the
    test's transaction; Django's own test client disconnects these handlers the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _real(value: Any, pool: list[int]) -> Any:
    """An existing id for three generated integers in four (chosen by the value: reproducible)."""
    if not pool or isinstance(value, bool) or not isinstance(value, int) or value % 4 == 0:
        return value
    return pool[value % len(pool)]


def _resource(path: str) -> str:
    """`/api/workbench/templates/{id}/` → `workbench/templates`."""
    return path.removeprefix("/api/").split("/{", 1)[0].rstrip("/")


def use_real_ids(case: Any, pools: dict[str, list[int]]) -> None:
    resource = _resource(case.path)
    for name, value in (case.path_parameters or {}).items():
        case.path_parameters[name] = _real(value, pools.get(name if name != "id" else resource, []))
    if isinstance(case.body, dict):
        for name, value in case.body.items():
            if name in ID_FIELDS:
                case.body[name] = _real(value, pools[ID_FIELDS[name]])
            elif name == "ids" and isinstance(value, list):
                pool = pools["payment-requests" if "payment-requests" in resource else "invoices"]
                case.body[name] = [_real(v, pool) for v in value]


def _check_invoices_total(response: Any) -> None:
    """A PR detail's `invoices_total` is the sum of its linked invoices (null without any)."""
    from payments.models import PRInvoice

    body = response.json() if "json" in response.headers.get("Content-Type", "") else None
    if not isinstance(body, dict) or "invoices_total" not in body:
        return
    totals = list(PRInvoice.objects.filter(pr_id=body["id"]).values_list("invoice__total_payable", flat=True))
    expected = sum(totals, Decimal(0)) if totals else None
    actual = None if body["invoices_total"] is None else Decimal(body["invoices_total"])
    assert actual == expected, f"PR {body['id']}: invoices_total {actual}, linked invoices sum to {expected}"


def _check_writes(case: Any, response: Any, mark: int) -> None:
    """Every business table is audited by a trigger, so new audit entries mean rows changed: a
    refused request must have changed nothing, an accepted one must leave the invariants whole."""
    written = sorted(set(AuditEntry.objects.filter(id__gt=mark).values_list("table_name", flat=True)))
    if not written:
        return
    where = f"{case.method} {case.formatted_path} → {response.status_code}"
    assert response.status_code < 400, f"{where} was refused but changed {written}"
    problems = consistency.problems()
    assert not problems, f"{where} left the database inconsistent: {problems}"


def _sampled_out(case: Any, persona: str) -> bool:
    """The coverage phase enumerates every boundary, type and format case of every parameter
    (about 5,000 for the owner); `make test` sends every COVERAGE_STRIDE-th case of each operation,
    in the phase's own deterministic order. API_FUZZ_COVERAGE_STRIDE=1 sends them all."""
    if case.meta is None or case.meta.phase.name.value != "coverage" or COVERAGE_STRIDE <= 1:
        return False
    key = f"{persona} {case.method} {case.path}"
    SEEN[key] += 1
    return (SEEN[key] - 1) % COVERAGE_STRIDE != 0


def _check(case: Any, dataset: Dataset, persona: str) -> None:
    meta = case.meta
    label = (persona, meta.generation.mode.value if meta else "?", meta.phase.name.value if meta else "?")
    if _sampled_out(case, persona):
        COUNTS[(*label[:2], "coverage (sampled out)")] += 1
        return
    use_real_ids(case, dataset.pools)
    savepoint = transaction.savepoint()
    try:
        response = case.call(headers=dataset.headers[persona])
        # Negative data (invalid by the document) must be refused with a 4xx, not accepted.
        checks = CHECKS if case.media_type in TEXT_BODIES else [*CHECKS, negative_data_rejection]
        case.validate_response(response, checks=checks)
        _check_invoices_total(response)
        _check_writes(case, response, dataset.audit_mark)
    finally:
        transaction.savepoint_rollback(savepoint)
    COUNTS[label] += 1


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
def test_api_fuzz_as_owner(case, dataset, _keep_test_connection):
    _check(case, dataset, "owner")


@finance_schema.parametrize()
@settings(FUZZ_SETTINGS, max_examples=2 * MAX_EXAMPLES)
def test_api_fuzz_as_finance(case, dataset, _keep_test_connection):
    _check(case, dataset, "finance")


def test_every_operation_declares_the_error_responses():
    """acountee.api.schema.add_error_responses: the error shape on every status a view can answer."""
    for path, operations in schema.raw_schema["paths"].items():
        for method, operation in operations.items():
            for code in ("400", "401", "403", "404", "503"):
                assert "application/json" in operation["responses"][code]["content"], (method, path, code)
