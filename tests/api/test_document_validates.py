"""The served OpenAPI document is a valid OpenAPI 3.0 document, read strictly (issue 20, "a document generators
accept"): openapi-spec-validator on `/api/schema/?format=json`, and the values the server sends for nullable
fields validate against it as OpenAPI 3.0 reads it (`nullable` only beside a `type`)."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import OpenAPIV30SpecValidator

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def served(django_db_blocker) -> dict[str, Any]:
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def _schemas(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        found.append((path, node))
        for key, value in node.items():
            found += _schemas(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _schemas(value, f"{path}/{index}")
    return found


def test_the_served_document_is_valid_openapi_3_0(served):
    assert served["openapi"].startswith("3.0.")
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in OpenAPIV30SpecValidator(served).iter_errors()
    ]
    assert not errors, errors[:20]


def test_nullable_is_only_said_beside_a_type(served):
    """Elsewhere OpenAPI 3.0 ignores it (`allOf: [$ref]` + `nullable`: not nullable at all)."""
    wrong = [path for path, node in _schemas(served) if node.get("nullable") is True and "type" not in node]
    assert not wrong, wrong


def _validator(served: dict[str, Any], schema: dict[str, Any]) -> OAS30Validator:
    return OAS30Validator({**schema, "components": served["components"]})


@pytest.mark.parametrize(
    ("component", "field", "value"),
    [
        ("StepApprover", "acted_by", None),
        ("StepApprover", "acted_by", {"id": 1, "name": "A"}),
        ("PayeeCheck", "previous", None),
        ("InvoiceList", "related_kind", None),
    ],
)
def test_the_null_the_server_sends_is_valid(served, component, field, value):
    schema = served["components"]["schemas"][component]["properties"][field]
    errors = [e.message for e in _validator(served, schema).iter_errors(value)]
    assert not errors, errors


def test_a_nullable_reference_still_refuses_what_is_not_the_object(served):
    schema = served["components"]["schemas"]["StepApprover"]["properties"]["acted_by"]
    assert list(_validator(served, schema).iter_errors("someone"))
    assert list(_validator(served, schema).iter_errors({"id": 1}))  # not any object: an ActedBy


def _references(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[-1]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= _references(value)
        return found
    if isinstance(node, list):
        return set().union(*(_references(value) for value in node)) if node else set()
    return set()


def test_no_component_references_itself(served):
    """Generators drop (or loop on) recursive schemas: none refers to itself, directly or through others."""
    schemas = served["components"]["schemas"]
    graph = {name: _references(schema) for name, schema in schemas.items()}
    cycles = []
    for start in graph:
        seen: set[str] = set()
        stack = list(graph[start])
        while stack:
            name = stack.pop()
            if name == start:
                cycles.append(start)
                break
            if name not in seen:
                seen.add(name)
                stack.extend(graph.get(name, ()))
    assert not cycles, f"recursive components: {sorted(cycles)}"


def test_any_json_value_is_one_non_recursive_schema(served):
    """Errors' details, audit before/after/metadata and report cells: any value, described."""
    assert "Any JSON value" in served["components"]["schemas"]["JsonValue"]["description"]
    assert not _references(served["components"]["schemas"]["JsonValue"])
