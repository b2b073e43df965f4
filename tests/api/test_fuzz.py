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
data refused with a 4xx (JSON bodies and parameters), positive data never refused with a 400 (issue 20:
`positive_data_acceptance`; 401/403/404/409/429 are who-you-are and state answers, declared everywhere) and
a missing required header refused (`missing_required_header`). Positive cases are made to satisfy the rules
a schema cannot state (existing references, ordered ranges, the clock: SEMANTIC_RULES, listed in
docs/API.md, "Every refusal explained"); anything else the server refuses must be stated in the document.
API_FUZZ_ONLY="POST /api/roles/|GET /api/users/" runs only those operations. A PR detail's
`invoices_total` matches its linked invoices. Every example runs in a savepoint rolled back afterwards;
before the rollback, a request that was refused must have changed no audited row, and one that changed
rows must leave the invariants of tests/api/consistency.py whole (constraints, audit chain, links,
chains). The counts per persona, mode and phase are printed at the end of the run (`make test` on 2
shared cores: about 3-4 minutes when the machine is quiet; 18 minutes measured under a load of 12).
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
    missing_required_header,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from audit.models import AuditEntry
from tests.api import consistency
from tests.api.dataset import Dataset, seed_dataset
from tests.audit.helpers import audit_mark

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    positive_data_acceptance,
    missing_required_header,
]
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
# API_FUZZ_ONLY="POST /api/roles/|GET /api/users/": only these operations (a local re-run of failures).
ONLY = os.environ.get("API_FUZZ_ONLY", "")
if ONLY:
    names = ONLY.split("|")
    schema = schema.include(name=names)
    finance_schema = finance_schema.include(name=names)


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
    if not pool or isinstance(value, bool) or not isinstance(value, int) or value < 1 or value % 4 == 0:
        return value  # below 1: not an id at all (negative data keeps it, the document's `minimum` refuses it)
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


# Query parameters that name an object (a list filtered by it): the pool they are drawn from.
QUERY_ID_FIELDS = {"team": "teams", "maker": "users", "role": "roles", "approver": "users", "substitute": "users"}


def _real_everywhere(value: Any, pools: dict[str, list[int]], pool: str | None) -> Any:
    """Positive data: every id-valued field, nested ones included, names an object that exists."""
    if isinstance(value, dict):
        return {
            k: _real_everywhere(v, pools, ID_FIELDS.get(k) or NESTED_ID_FIELDS.get(k) or None) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_real_everywhere(v, pools, pool) for v in value]
    if pool and isinstance(value, int) and not isinstance(value, bool) and pools.get(pool):
        return pools[pool][value % len(pools[pool])]
    return value


# Lists of ids in bodies (`steps[].approvers`, the one-call flow's `invoice_ids`, …).
NESTED_ID_FIELDS = {
    "approvers": "users",
    "alternates": "users",
    "invoice_ids": "invoices",
    "users": "users",
    "roles": "roles",
}


def make_positive_valid(case: Any, dataset: Dataset) -> None:
    """The rules a schema cannot state, applied to positive data only (docs/API.md, "What the document cannot
    say"): a reference names an object that exists, and the few rules that depend on the clock, on other
    fields or on a file's content. Each is documented on its operation; refusing them is a 400 by design."""
    pools = dataset.pools
    if isinstance(case.body, dict):
        case.body = _real_everywhere(case.body, pools, None)
        if "ids" in case.body and isinstance(case.body["ids"], list):
            pool = pools["payment-requests" if "payment-requests" in case.path else "invoices"]
            case.body["ids"] = [pool[v % len(pool)] if isinstance(v, int) else v for v in case.body["ids"]]
    for name, pool in QUERY_ID_FIELDS.items():
        value = (case.query or {}).get(name)
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and pools.get(pool):
            case.query[name] = pools[pool][value % len(pools[pool])]
    for fix in SEMANTIC_RULES.get((case.method.upper(), case.path), []):
        fix(case, dataset)
    if case.method.upper() == "GET":
        _list_paging(case)


def _list_paging(case: Any) -> None:
    """Every list (docs/API.md, "Syncing a list"): a `cursor` is a token the server gave (a made-up one is
    INVALID_CURSOR), so positive data starts from the first page; page numbers and cursor paging do not mix, and a
    cursor keeps to the sync order; `updated_since` names an instant the calendar holds in UTC."""
    query = case.query
    if not query:
        return
    query.pop("cursor", None)
    if query.get("pagination") == "cursor":
        query.pop("page", None)
        query.pop("ordering", None)
    since = query.get("updated_since")
    if isinstance(since, str) and since:
        from acountee.api.sync import parse_updated_since
        from acountee.errors import ValidationFailed

        try:
            parse_updated_since(since)
        except ValidationFailed:
            query["updated_since"] = "2000-01-01T00:00:00Z"


def _future_expiry(case: Any, dataset: Dataset) -> None:
    """Service accounts: `expires_at` must be in the future (documented on the field)."""
    if isinstance(case.body, dict) and case.body.get("expires_at"):
        case.body["expires_at"] = "2099-01-01T00:00:00Z"


def _strong_password(case: Any, dataset: Dataset) -> None:
    """Users: Django's password validators (length, common, numeric, similar to the e-mail)."""
    if isinstance(case.body, dict) and "password" in case.body:
        case.body["password"] = "Mật-khẩu-đủ-mạnh-2026"


def _ordered_period(case: Any, dataset: Dataset) -> None:
    """Reports: `from` not after `to`, and (months) at most 120 months from `from` to `to` (default: this
    month); documented on the parameters."""
    query = case.query or {}
    start, end = query.get("from"), query.get("to")
    if not isinstance(start, str) or not start:
        return
    if len(start) == 7:  # YYYY-MM: the period ends with `to`, or this month
        query["to"] = start if not end or end < start or _months_apart(start, end) > 120 else end
    elif isinstance(end, str) and end and end < start:
        query["from"] = end


def _months_apart(start: str, end: str) -> int:
    return (int(end[:4]) - int(start[:4])) * 12 + int(end[5:7]) - int(start[5:7]) + 1


def _ordered_range(case: Any, dataset: Dataset) -> None:
    """Approval flows: `min_amount` below `max_amount` (documented on the fields)."""
    body = case.body if isinstance(case.body, dict) else {}
    low, high = body.get("min_amount"), body.get("max_amount")
    if low not in (None, "") and high not in (None, "") and Decimal(low) >= Decimal(high):
        body["max_amount"] = None


def _delegation_dates(case: Any, dataset: Dataset) -> None:
    """Delegations: someone else as the substitute, the end not before the start (documented)."""
    body = case.body if isinstance(case.body, dict) else {}
    if body.get("start_date") and body.get("end_date") and body["end_date"] < body["start_date"]:
        body["start_date"], body["end_date"] = body["end_date"], body["start_date"]
    caller = dataset.owner if getattr(dataset, "persona", "") == "owner" else dataset.finance
    approver = body.get("approver", caller.pk)  # the approver defaults to the caller
    if body.get("substitute") is not None and body["substitute"] == approver:
        others = [pk for pk in dataset.pools["users"] if pk != approver]
        body["substitute"] = others[0]


def _flow_or_steps(case: Any, dataset: Dataset) -> None:
    """Payment requests: a flow or inline steps, not both (documented on the body)."""
    body = case.body if isinstance(case.body, dict) else {}
    if "flow" in body and "steps" in body:  # even `flow: null` (which means "the amount's flow")
        body.pop("flow")


def _each_person_once(case: Any, dataset: Dataset) -> None:
    """Chains: each person once per step (an alternate is not also an approver); documented on the steps."""
    body = case.body if isinstance(case.body, dict) else {}
    for step in body.get("steps") or []:
        if isinstance(step, dict):
            approvers = list(dict.fromkeys(step.get("approvers") or []))
            if "approvers" in step:
                step["approvers"] = approvers
            if isinstance(step.get("alternates"), list):
                step["alternates"] = [p for p in dict.fromkeys(step["alternates"]) if p not in approvers]


def _not_below_the_owner(case: Any, dataset: Dataset) -> None:
    """Roles: no role inherits from the owner role (INVALID_PARENT; documented on `parent`)."""
    from accounts.models import Role

    body = case.body if isinstance(case.body, dict) else {}
    if body.get("parent") is not None and Role.objects.filter(pk=body["parent"], name="owner").exists():
        body["parent"] = None


def _amount_only_when_typed(case: Any, dataset: Dataset) -> None:
    """Payment requests: `amount` is typed only on an advanced request (a direct one is its invoices' total:
    AMOUNT_FROM_INVOICES; documented on the field)."""
    from payments.models import PaymentRequest

    body = case.body if isinstance(case.body, dict) else {}
    if "amount" not in body:
        return
    if case.method.upper() == "POST":
        kind = body.get("type", "direct")
    else:
        pk = (case.path_parameters or {}).get("id")
        kind = PaymentRequest.objects.filter(pk=pk).values_list("type", flat=True).first() if str(pk).isdigit() else ""
    if kind != "advanced":
        body.pop("amount")


def _range_within_the_file(case: Any, dataset: Dataset) -> None:
    """File content: a `Range` that starts inside the file (else 416, by the file's size: its state)."""
    from files.models import StoredFile

    headers = case.headers or {}
    pk = (case.path_parameters or {}).get("id")
    size = StoredFile.objects.filter(pk=pk).values_list("size", flat=True).first() if str(pk).isdigit() else None
    if "Range" in headers and size is not None:
        start = headers["Range"].removeprefix("bytes=").split("-", 1)[0]
        if not start.isdigit() or int(start) >= size:
            headers.pop("Range")
            headers.pop("If-Range", None)


def _transfer_keeps_an_account(case: Any, dataset: Dataset) -> None:
    """Invoice payment details: an invoice paid by bank transfer keeps a bank account (its stored type decides)."""
    body = case.body if isinstance(case.body, dict) else {}
    if body.get("payment_bank_account") == "" and body.get("payment_type") in (None, "", "bank_transfer"):
        body["payment_bank_account"] = "0071000123456"


def _known_permissions(case: Any, dataset: Dataset) -> None:
    """Roles: permissions that exist (`app_label.codename`)."""
    body = case.body if isinstance(case.body, dict) else {}
    if isinstance(body.get("permissions"), list):
        known = ["payments.view_paymentrequest", "invoices.view_invoice", "audit.view_auditentry"]
        body["permissions"] = sorted({known[len(str(p)) % len(known)] for p in body["permissions"]})


def _known_role_names(case: Any, dataset: Dataset) -> None:
    """Service accounts: roles by the name of a role that exists."""
    body = case.body if isinstance(case.body, dict) else {}
    if isinstance(body.get("roles"), list):
        from accounts.models import Role

        names = sorted(Role.objects.exclude(name="owner").values_list("name", flat=True))  # never an owner
        body["roles"] = sorted({names[len(str(r)) % len(names)] for r in body["roles"]})


def _columns_once(case: Any, dataset: Dataset) -> None:
    """Export templates: each column at most once (by key)."""
    body = case.body if isinstance(case.body, dict) else {}
    if isinstance(body.get("columns"), list):
        seen: set[Any] = set()
        kept = []
        for column in body["columns"]:
            key = column.get("key") if isinstance(column, dict) else column
            if key not in seen:
                seen.add(key)
                kept.append(column)
        body["columns"] = kept


def _a_paid_file(case: Any, dataset: Dataset) -> None:
    """Paid import: the file is a CSV `pr_id,payment_reference` or the export's XLSX (its content, not its type)."""
    if isinstance(case.body, dict) and "file" in case.body:
        case.body["file"] = b"pr_id,payment_reference\r\n1,FT1\r\n"


def _month_or_ids(case: Any, dataset: Dataset) -> None:
    """Bank-transfer export: `month` or `ids` (one of them is required)."""
    query = case.query if case.query is not None else {}
    if not query.get("month") and not query.get("ids"):
        query["month"] = "2026-12"
    case.query = query


SEMANTIC_RULES: dict[tuple[str, str], list[Any]] = {
    ("POST", "/api/users/"): [_strong_password],
    ("GET", "/api/reports/payables-by-month/"): [_ordered_period],
    ("GET", "/api/reports/payables-by-supplier/"): [_ordered_period],
    ("GET", "/api/reports/approval-cycle-time/"): [_ordered_period],
    ("POST", "/api/approval-flows/"): [_ordered_range, _each_person_once],
    ("PATCH", "/api/approval-flows/{id}/"): [_ordered_range, _each_person_once],
    ("POST", "/api/approval-delegations/"): [_delegation_dates],
    ("PATCH", "/api/approval-delegations/{id}/"): [_delegation_dates],
    ("POST", "/api/payment-requests/"): [_flow_or_steps, _each_person_once, _amount_only_when_typed],
    ("PATCH", "/api/payment-requests/{id}/"): [_flow_or_steps, _each_person_once, _amount_only_when_typed],
    ("GET", "/api/files/{id}/content/"): [_range_within_the_file],
    ("PATCH", "/api/invoices/{id}/payment-details/"): [_transfer_keeps_an_account],
    ("POST", "/api/roles/"): [_known_permissions, _not_below_the_owner],
    ("PATCH", "/api/roles/{id}/"): [_known_permissions, _not_below_the_owner],
    ("POST", "/api/service-accounts/"): [_future_expiry, _known_role_names],
    ("POST", "/api/workbench/templates/"): [_columns_once],
    ("PATCH", "/api/workbench/templates/{id}/"): [_columns_once],
    ("POST", "/api/workbench/import-paid/"): [_a_paid_file],
    ("GET", "/api/workbench/export/"): [_month_or_ids],
}


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
    if meta is not None and meta.generation.mode.is_positive:
        dataset.persona = persona  # type: ignore[attr-defined]
        make_positive_valid(case, dataset)
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
