"""The OpenAPI document against the contract (issue 10): every path API.md lists is in it (with the
query parameters API.md names), every field is typed, every operation carries one tag named after
its API.md resource, and the main operations have examples. `tests/test_project.py` validates the
document (`spectacular --validate --fail-on-warn`) and checks that `/api/docs/` renders."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

API_MD = Path(__file__).resolve().parents[2] / "docs" / "API.md"
# Served next to the document, not described in it (SERVE_INCLUDE_SCHEMA = False).
NOT_IN_DOCUMENT = {"/api/schema/", "/api/docs/"}
ENDPOINT = re.compile(r"^(?:(?P<methods>[A-Z]+(?:/[A-Z]+)*) )?(?P<path>(?:/api/|…/)[^?\s]*)(?P<query>\?\S*)?$")


def contract_endpoints(text: str) -> list[dict[str, Any]]:
    """(methods, path, query names) of every endpoint in API.md's resource table. `…/x/` is an
    action on the row's resource (`/api/<resource>/{id}/x/`); `(filters: `a`, …)` and a bare
    `?name=` name query parameters of the endpoint before them."""
    endpoints: list[dict[str, Any]] = []
    table = text.split("| Resource | Endpoints |", 1)[1].split("\n\n", 1)[0]
    for line in table.splitlines()[2:]:
        base, in_filters = "", False
        for token in re.finditer(r"`([^`]*)`|\(filters", line):
            if token.group(0) == "(filters":
                in_filters = True
                continue
            segment = token.group(1)
            found = ENDPOINT.match(segment)
            if found:
                in_filters = False
                path = found["path"]
                if path.startswith("…/"):
                    rest = path.removeprefix("…")
                    path = base + (rest if rest.startswith("/{id}/") else "/{id}" + rest)
                else:
                    base = base or path.rstrip("/").split("/{", 1)[0]
                methods = found["methods"].lower().split("/") if found["methods"] else []
                endpoints.append({"methods": methods, "path": path, "query": _names(found["query"] or "")})
            elif segment.startswith("?") and endpoints:
                endpoints[-1]["query"] |= _names(segment)
            elif in_filters and endpoints:
                endpoints[-1]["query"].add(segment.split("=", 1)[0])
    return endpoints


def _names(query: str) -> set[str]:
    return set(re.findall(r"(?:^|[?&])(\w+)=", query.replace("[", "").replace("]", "")))


def _normal(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def test_the_contract_parser_reads_every_row():
    endpoints = contract_endpoints(API_MD.read_text())
    paths = {e["path"] for e in endpoints}
    assert "/api/payment-requests/{id}/uncomplete/" in paths  # "…/uncomplete/" expanded
    assert "/api/payment-requests/{id}/attachments/{file_id}/" in paths
    assert {"status", "month", "amount_max"} <= next(e["query"] for e in endpoints if e["path"] == "/api/invoices/")
    assert len(endpoints) >= 50


def test_every_path_in_api_md_is_in_the_openapi_document(document):
    operations = {_normal(path): set(ops) for path, ops in document["paths"].items()}
    missing = []
    for endpoint in contract_endpoints(API_MD.read_text()):
        if endpoint["path"] in NOT_IN_DOCUMENT:
            continue
        declared = operations.get(_normal(endpoint["path"]))
        if declared is None or not set(endpoint["methods"]) <= declared:
            missing.append(f"{'/'.join(endpoint['methods']).upper() or 'ANY'} {endpoint['path']}")
    assert not missing, f"API.md lists endpoints the OpenAPI document lacks: {missing}"


def test_query_parameters_named_in_api_md_are_declared(document):
    missing = []
    for endpoint in contract_endpoints(API_MD.read_text()):
        if not endpoint["query"] or endpoint["path"] in NOT_IN_DOCUMENT:
            continue
        operations = document["paths"][endpoint["path"]]
        for method in endpoint["methods"] or ["get"]:
            declared = {p["name"] for p in operations[method].get("parameters", []) if p["in"] == "query"}
            missing += [f"{method.upper()} {endpoint['path']}?{name}" for name in endpoint["query"] - declared]
    assert not missing, missing


@pytest.mark.django_db
def test_schema_and_docs_listed_in_api_md_are_served():
    client = Client()
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200


def _untyped(node: Any, path: str, out: list[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}/{key}"
            if key == "properties" and isinstance(value, dict):
                for name, prop in value.items():
                    _check_typed(prop, f"{here}/{name}", out)
            elif key in ("items", "additionalProperties") and isinstance(value, dict):
                _check_typed(value, here, out)
            _untyped(value, here, out)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _untyped(value, f"{path}/{index}", out)


def _check_typed(schema: dict[str, Any], path: str, out: list[str]) -> None:
    if not {"type", "$ref", "allOf", "oneOf", "anyOf", "enum"} & set(schema):
        out.append(path)


def test_every_field_in_the_document_is_typed(document):
    untyped: list[str] = []
    _untyped(document, "", untyped)
    assert not untyped, f"fields without a type (`{{}}` in the document): {untyped}"


def test_every_operation_has_one_tag_named_after_its_api_md_resource(document):
    resources = set(re.findall(r"^\| ([a-z ]+) \| `", API_MD.read_text(), re.MULTILINE))
    resources.add("reports")  # not in API.md (docs/reports.md), tagged on its own
    wrong = [
        f"{method.upper()} {path}: {op.get('tags')}"
        for path, ops in document["paths"].items()
        for method, op in ops.items()
        if len(op.get("tags", [])) != 1 or op["tags"][0] not in resources
    ]
    assert not wrong, wrong


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/auth/token/"),
        ("get", "/api/payment-requests/"),
        ("post", "/api/payment-requests/"),
        ("post", "/api/payment-requests/{id}/approve/"),
        ("post", "/api/payment-requests/{id}/complete/"),
        ("post", "/api/invoices/import/"),
    ],
)
def test_main_operations_carry_examples(document, method, path):
    operation = document["paths"][path][method]
    bodies = [c for c in operation.get("requestBody", {}).get("content", {}).values()]
    responses = [c for r in operation["responses"].values() for c in r.get("content", {}).values()]
    assert any("examples" in c for c in bodies + responses), f"{method.upper()} {path} has no example"


@pytest.mark.django_db
def test_the_document_is_the_same_whatever_the_callers_language(client_for):
    """Generated clients must not depend on who fetched the document (issue 20): names derived from enum
    labels and every description are the English ones, for a Vietnamese user and a Vietnamese browser alike."""
    from tests.accounts.factories import UserFactory

    vietnamese = client_for(UserFactory(roles=["owner"], language="vi"))
    english = client_for(UserFactory(roles=["owner"], language="en"))
    as_vi = vietnamese.get("/api/schema/?format=json", HTTP_ACCEPT_LANGUAGE="vi").content
    as_en = english.get("/api/schema/?format=json", HTTP_ACCEPT_LANGUAGE="en").content
    assert as_vi == as_en
    assert "Trạng thái".encode() not in as_vi and "Đề nghị thanh toán".encode() not in as_vi


# --- what the server enforces, stated in the document (issue 20) ----------------------------------------------
def _component(document: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    return document["components"]["schemas"][ref["$ref"].rsplit("/", 1)[-1]]


def _body(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return _component(document, document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/payment-requests/bulk-approve/"),
        ("post", "/api/payment-requests/{id}/complete/"),
        ("patch", "/api/payment-requests/{id}/"),
        ("post", "/api/approval-flows/"),
    ],
)
def test_strict_bodies_refuse_unknown_fields_in_the_document_too(document, method, path):
    """StrictSerializer refuses fields it does not know: `additionalProperties: false`, nested ones included."""
    body = _body(document, method, path)
    assert body["additionalProperties"] is False


def test_a_strict_body_with_an_unknown_field_is_refused_as_the_document_says(document):
    from acountee.api.serializers import StrictSerializer
    from payments.api.serializers import BulkApproveInputSerializer

    assert issubclass(BulkApproveInputSerializer, StrictSerializer)
    assert not BulkApproveInputSerializer(data={"ids": [1], "idz": [2]}).is_valid()


def test_list_bounds_are_stated(document):
    ids = _body(document, "post", "/api/payment-requests/bulk-approve/")["properties"]["ids"]
    assert (ids["minItems"], ids["maxItems"]) == (1, 1000)  # allow_empty=False is minItems 1
    steps = _body(document, "post", "/api/approval-flows/")["properties"]["steps"]
    assert steps["type"] == "array" and "maxItems" in steps  # a nested list's max_length


def _query(document: dict[str, Any], path: str, name: str) -> dict[str, Any]:
    return next(p for p in document["paths"][path]["get"]["parameters"] if p["in"] == "query" and p["name"] == name)


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/invoices/", "month"),
        ("/api/payment-requests/", "month"),
        ("/api/workbench/cleanup/", "month"),
        ("/api/workbench/export/", "month"),
        ("/api/reports/payables-by-month/", "from"),
        ("/api/reports/payables-by-month/", "to"),
    ],
)
def test_months_carry_the_yyyy_mm_pattern(document, path, name):
    from acountee.months import MONTH_PATTERN, parse_month

    pattern = re.compile(_query(document, path, name)["schema"]["pattern"])
    assert pattern.pattern == MONTH_PATTERN
    for good in ("1900-01", "2026-12", "9999-12"):
        assert pattern.match(good) and parse_month(good)
    for bad in ("1899-12", "2026-13", "2026-00", "2026-1", "26-01", "2026-01-01"):
        assert not pattern.match(bad)


@pytest.mark.parametrize("path", ["/api/invoices/", "/api/workbench/cleanup/", "/api/audit/security-events/"])
def test_page_and_page_size_start_at_one(document, path):
    assert _query(document, path, "page")["schema"]["minimum"] == 1
    assert _query(document, path, "page_size")["schema"]["minimum"] == 1


def test_retry_after_is_declared_where_it_is_sent(document):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for code in ("409", "429", "503"):
                if code in operation["responses"]:
                    assert "Retry-After" in operation["responses"][code].get("headers", {}), (method, path, code)


def test_replayed_writes_are_declared(document):
    created = document["paths"]["/api/payment-requests/"]["post"]["responses"]["201"]
    assert created["headers"]["Idempotent-Replayed"]["schema"]["enum"] == ["true"]
    assert "Idempotent-Replayed" not in document["paths"]["/api/payment-requests/"]["get"]["responses"]["200"].get(
        "headers", {}
    )


@pytest.mark.parametrize(
    "path",
    [
        "/api/files/{id}/content/",
        "/api/audit/export/",
        "/api/workbench/export/",
        "/api/reports/aging/",
        "/api/reports/payables-by-supplier/",
    ],
)
def test_downloads_declare_content_disposition(document, path):
    assert "Content-Disposition" in document["paths"][path]["get"]["responses"]["200"]["headers"]


def test_file_content_declares_the_types_it_serves(document):
    from files.models import FileType

    content = document["paths"]["/api/files/{id}/content/"]["get"]["responses"]["200"]["content"]
    assert set(content) == set(FileType.values)
    assert {"application/pdf", "image/jpeg", "application/xml"} <= set(content)


# --- what a generated client revealed (tests/api/test_generated_client.py) -----------------------------------
def test_signing_in_needs_no_credentials_in_the_document(document):
    """A security requirement (even with `{}` among its options) makes openapi-python-client ask for an
    authenticated client to sign in; signing out still needs the token."""
    token = document["paths"]["/api/auth/token/"]
    assert "security" not in token["post"]
    assert {"tokenAuth": []} in token["delete"]["security"]
    locked = token["post"]["responses"]["429"]
    assert locked["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_import_counts_are_typed(document):
    """The import's summary and per-file counts: the three results, not an untyped map."""
    schemas = document["components"]["schemas"]
    assert schemas["ImportReport"]["properties"]["summary"] == {"$ref": "#/components/schemas/ImportCounts"}
    assert schemas["ImportFile"]["properties"]["counts"] == {"$ref": "#/components/schemas/ImportCounts"}
    counts = schemas["ImportCounts"]
    assert set(counts["required"]) == set(counts["properties"]) == {"success", "skipped", "failure"}


def test_the_multipart_import_refuses_unknown_fields_in_the_document_too(document):
    body = document["paths"]["/api/invoices/import/"]["post"]["requestBody"]["content"]
    assert list(body) == ["multipart/form-data"]
    assert _component(document, body["multipart/form-data"]["schema"])["additionalProperties"] is False


def test_answers_that_are_not_json_are_typed_as_served(document):
    """`text/*` is text (`{type: string}`: a generated client reads a binary `text/csv` into a file from its text and
    fails), any other non-JSON type bytes — never a JSON component (a report's CSV is not a `Report` object)."""
    seen = set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                for media_type, content in (response.get("content") or {}).items():
                    if media_type == "application/json":
                        continue
                    seen.add(media_type)
                    expected = (
                        {"type": "string"} if media_type.startswith("text/") else {"type": "string", "format": "binary"}
                    )
                    assert content["schema"] == expected, (method, path, code, media_type)
    assert {"text/csv", "application/pdf"} <= seen
    audit = document["paths"]["/api/audit/export/"]["get"]["responses"]["200"]["content"]
    assert list(audit) == ["text/csv", "application/json"]  # the default first: what a generated client reads
    assert audit["application/json"]["schema"]["type"] == "array"


def test_event_payloads_are_typed(document):
    """An event's `data` (the feed and the webhook body) names its keys, so a generated client reads them typed;
    none is required but `payment_request`'s own, and no object refuses a key added later."""
    schemas = document["components"]["schemas"]
    data = schemas["EventData"]
    assert set(data["properties"]) == {"payment_request", "payee", "step", "reason", "invoice"}
    assert "required" not in data
    assert {"id", "status", "amount", "payment_reference"} <= set(schemas["EventPaymentRequest"]["required"])
    for name in ("EventData", "EventPaymentRequest", "EventPayee", "EventInvoice", "EventStep"):
        assert schemas[name].get("additionalProperties") is not False, name
