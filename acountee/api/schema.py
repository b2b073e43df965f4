"""drf-spectacular post-processing: declares the contract's error responses on every operation, that
an empty optional query parameter is the same as an absent one, and the tags.

Every view answers errors through `acountee.api.exception_handler` in one shape, so the statuses
any operation can return are declared here once rather than on each view (issue 10)."""

from __future__ import annotations

from typing import Any

from acountee.api.fields import JSON_VALUE, JSON_VALUE_SCHEMA

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "example": "VALIDATION_ERROR"},
                "message": {"type": "string"},
                "details": {
                    "description": "Per-field messages for validation errors; facts about the refusal otherwise.",
                    "anyOf": [
                        {"type": "object", "additionalProperties": True, "nullable": True},
                        {"type": "array", "items": JSON_VALUE},
                    ],
                },
            },
        }
    },
}

COMMON = {
    "400": "The input is not valid (VALIDATION_ERROR, MALFORMED_REQUEST, …).",
    "401": "Not signed in or the token is invalid (NOT_AUTHENTICATED, AUTHENTICATION_FAILED).",
    "403": "Signed in, but not allowed (PERMISSION_DENIED, NOT_OWNER).",
    "404": "No such object, or not visible to you (NOT_FOUND); also a page beyond the last.",
    "503": "The database is unavailable, busy or full (DATABASE_UNAVAILABLE, POOL_EXHAUSTED, DATABASE_TIMEOUT, "
    "STORAGE_FULL); nothing was saved; retry after Retry-After.",
}
WRITES = {
    "409": "Conflicts with the current state (INVALID_STATE, DUPLICATE, PROTECTED, …), or with another writer "
    "right now (BUSY, CONFLICT_RETRY: nothing was saved, retry after Retry-After).",
    "413": "The upload or body is too large (TOO_LARGE).",
    "415": "Unsupported content type (UNSUPPORTED_MEDIA_TYPE).",
}


# One tag per API.md resource (plus reports), in API.md's order, described once.
TAGS = [
    ("auth", "Tokens and the signed-in user."),
    ("invoices", "Imported e-invoices: list, import, payment details, obsolete/restore, links to payment requests."),
    ("payment requests", "The payment-request lifecycle, approval queue, bulk approval and attachments."),
    ("payment methods", "Saved bank accounts to pay to."),
    ("approval flows", "Approval chains to copy onto payment requests (owners), and delegations."),
    ("accounts", "Users, teams and roles (owners)."),
    ("audit", "The audit log, a record's history, export, statistics and security events."),
    ("files", "Uploads stored in PostgreSQL, metadata and streamed downloads."),
    ("notifications", "In-app notifications, channel preferences and the delivery log."),
    ("workbench", "Period-end cleanup, bank-transfer export, export templates and the paid import."),
    ("reports", "Payables, aging and approval cycle-time reports (JSON, CSV, XLSX)."),
]


# --- nullable references (issue 20) ------------------------------------------------------------------------
# OpenAPI 3.0 reads `nullable: true` only beside a `type` (3.0.3, "nullable"): `{allOf: [{$ref}], nullable: true}`,
# as drf-spectacular writes a nullable nested serializer (a step approver's `acted_by`), does NOT admit null, and
# strict validators and generated clients refuse the null the server sends. The 3.0 way: one of the reference or
# this null-only schema.
NULL_SCHEMA: dict[str, Any] = {"type": "object", "nullable": True, "enum": [None], "description": "null"}


def _admits_null(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    if schema.get("nullable") and "type" in schema:
        return True
    return None in schema.get("enum", []) or schema.get("$ref", "").endswith("/NullEnum")


def _explicit_nullable(node: Any) -> None:
    if isinstance(node, list):
        for value in node:
            _explicit_nullable(value)
        return
    if not isinstance(node, dict):
        return
    for value in node.values():
        _explicit_nullable(value)
    if not node.get("nullable") or "type" in node:
        return
    del node["nullable"]  # a no-op without `type`: said below in a way 3.0 reads
    if len(node.get("allOf", [])) == 1:
        node["oneOf"] = [node.pop("allOf")[0], dict(NULL_SCHEMA)]
    elif "oneOf" in node or "anyOf" in node:
        members = node["oneOf"] if "oneOf" in node else node["anyOf"]
        if not any(_admits_null(member) for member in members):
            members.append(dict(NULL_SCHEMA))
    else:
        node["nullable"] = True  # nothing to rewrite: left for tests/api/test_document_validates.py to name


def make_nullable_explicit(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Every `nullable: true` without a `type` becomes `oneOf: [schema, NULL_SCHEMA]` (after the enum hook, which
    writes `oneOf: [XEnum, NullEnum]` with a no-op `nullable` beside it: that one only loses the `nullable`)."""
    _explicit_nullable(result)
    return result


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR_SCHEMA)
    schemas.setdefault("JsonValue", JSON_VALUE_SCHEMA)
    result.setdefault("tags", [{"name": name, "description": text} for name, text in TAGS])
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete", "head"}:
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True  # `?status=` is no filter (acountee.api.params.present)
            statuses = {**COMMON, **(WRITES if method in {"post", "put", "patch", "delete"} else {})}
            responses = operation.setdefault("responses", {})
            for code, description in statuses.items():
                declared = responses.setdefault(code, {"description": description})
                declared.setdefault("content", ref)  # views that declare a status give it no body
    return result
