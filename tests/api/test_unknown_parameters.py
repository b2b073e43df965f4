"""Issue 20, "unknown query parameters": every API operation takes exactly the query parameters the OpenAPI
document declares for it (acountee.api.declared); any other is a 400 UNKNOWN_PARAMETER naming it and the
allowed ones. The document is the source, so each declared parameter must be accepted."""

from __future__ import annotations

import re
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from acountee.api.declared import declared_parameters
from acountee.api.viewsets import DeclaredQueryParameters

pytestmark = pytest.mark.django_db


def _refused(response: Any, unknown: list[str]) -> dict[str, Any]:
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "UNKNOWN_PARAMETER", error
    assert error["details"]["unknown"] == unknown
    for name in unknown:
        assert name in error["message"]
    return error


def test_an_unknown_parameter_on_a_list(owner_client):
    error = _refused(owner_client.get("/api/invoices/", {"stauts": "new"}), ["stauts"])
    assert "status" in error["details"]["allowed"] and "page_size" in error["details"]["allowed"]


def test_an_unknown_parameter_on_a_detail(owner_client, owner):
    error = _refused(owner_client.get(f"/api/users/{owner.pk}/", {"expand": "roles"}), ["expand"])
    assert error["details"]["allowed"] == []


def test_a_list_filter_is_not_a_detail_parameter(owner_client, owner):
    """DRF applied a list's filters to the detail lookup too (a 404 for `?is_active=false`); the document does
    not declare them there, so neither does the server."""
    _refused(owner_client.get(f"/api/users/{owner.pk}/", {"is_active": "true"}), ["is_active"])


def test_unknown_parameters_on_an_action_are_named_in_order(owner_client):
    response = owner_client.post("/api/payment-requests/bulk-approve/?z=1&a=2&a=3", {"ids": []}, format="json")
    _refused(response, ["a", "z"])


def test_an_unknown_parameter_on_a_report(owner_client):
    """Each report declares its own parameters: aging takes no `top` (it used to be declared on every report)."""
    error = _refused(owner_client.get("/api/reports/aging/", {"top": "5"}), ["top"])
    assert error["details"]["allowed"] == ["as_of", "format"]


@pytest.mark.parametrize(
    "url",
    ["/api/workbench/export/?month=2026-01&format=csv&sep=%3B", "/api/audit/export/?format=csv&sep=%3B"],
)
def test_an_unknown_parameter_on_an_export_is_a_json_400(owner_client, url):
    response = owner_client.get(url)
    _refused(response, ["sep"])
    assert response["Content-Type"].startswith("application/json")


def test_an_empty_unknown_parameter_is_still_unknown(owner_client):
    _refused(owner_client.get("/api/invoices/?stauts="), ["stauts"])


def test_a_stranger_is_told_to_sign_in_first(anon_client):
    assert anon_client.get("/api/invoices/", {"stauts": "new"}).status_code in (401, 403)


def test_the_idempotency_key_is_a_header_not_a_parameter(owner_client):
    response = owner_client.post(
        "/api/payment-requests/bulk-approve/", {"ids": [999999]}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert response.status_code == 200, response.content
    assert response.json()["failed"][0]["id"] == 999999


def test_the_schema_itself_is_not_an_operation(anon_client):
    """`/api/schema/` and `/api/docs/` are served beside the document, not described in it."""
    assert anon_client.get("/api/schema/", {"format": "json", "lang": "en"}).status_code == 200


# --- the document's side: every declared parameter is accepted -------------------------------------------------
def _document() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def _example(parameter: dict[str, Any]) -> str:
    """A valid value for the parameter, from its schema."""
    schema = parameter.get("schema", {})
    if "items" in schema:
        schema = schema["items"]
    if "enum" in schema:
        return str(schema["enum"][0])
    if schema.get("type") == "boolean":
        return "true"
    if schema.get("type") in ("integer", "number"):
        return str(max(int(schema.get("minimum", 1)), 1))
    if schema.get("format") == "date":
        return "2026-01-15"
    if schema.get("format") == "date-time":
        return "2026-01-15T00:00:00Z"
    description = parameter.get("description", "")
    if parameter["name"] in ("month", "from", "to") and "YYYY-MM-DD" not in description:
        return "2026-01"
    if "YYYY-MM-DD" in description:
        return "2026-01-15"
    return "x"


def _declared_cases() -> list[Any]:
    cases = []
    for path, operations in _document()["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    cases.append(pytest.param(method, path, parameter, id=f"{method} {path}?{parameter['name']}"))
    return cases


@pytest.mark.parametrize(("method", "path", "parameter"), _declared_cases())
def test_every_declared_parameter_is_accepted(owner_client, method, path, parameter):
    url = re.sub(r"\{[^}]+\}", "1", path) + f"?{parameter['name']}={_example(parameter)}"
    response = getattr(owner_client, method)(url, {}, format="json") if method != "get" else owner_client.get(url)
    if response["Content-Type"].startswith("application/json") and response.status_code == 400:
        assert response.json()["error"]["code"] != "UNKNOWN_PARAMETER", response.content[:300]


def test_every_documented_operation_checks_its_parameters():
    """Each operation of the document is served by a view built on acountee.api.viewsets (the check lives there),
    and has an entry in the map the check reads."""
    generator = SchemaGenerator()
    document = generator.get_schema(request=None, public=True)
    documented = {re.sub(r"\{[^}]+\}", "{}", p): set(ops) for p, ops in document["paths"].items()}
    declared = declared_parameters()
    unchecked = []
    for path, _regex, method, callback in generator.endpoints:
        if method.lower() not in documented.get(re.sub(r"\{[^}]+\}", "{}", path), set()):
            continue  # served beside the document (/api/schema/, /api/docs/)
        if not issubclass(callback.cls, DeclaredQueryParameters) or (callback, method) not in declared:
            unchecked.append(f"{method} {path} ({callback.cls.__name__})")
    assert not unchecked, unchecked
    assert len(declared) >= 90
