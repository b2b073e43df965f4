"""drf-spectacular post-processing: declares the contract's error responses on every operation, that
an empty optional query parameter is the same as an absent one, and the tags.

Every view answers errors through `acountee.api.exception_handler` in one shape, so the statuses
any operation can return are declared here once rather than on each view (issue 10)."""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular import openapi
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from acountee.api.fields import JSON_VALUE, JSON_VALUE_SCHEMA
from acountee.api.serializers import StrictSerializer
from acountee.months import MONTH_PATTERN

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


# --- what the server enforces, stated (issue 20) --------------------------------------------------------------
# Text the server refuses (issue 20: every refusal explained by the document). Bodies: StrictSerializer refuses C0
# controls but tab, LF and CR, DEL and lone surrogates (acountee.api.serializers.CONTROL_RE); query text: every C0
# control and DEL (acountee.search, invoices.filters). Months as YYYY-MM; decimals as the DecimalField reads them.
# (Lone surrogates, refused too, are not text at all: JSON generators and validators cannot name them in a pattern.)
BODY_TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+$"
BLANK_TEXT_PATTERN = BODY_TEXT_PATTERN[:-2] + "*$"  # a field that may be blank
QUERY_TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"
# YYYY-MM-DD with a year 1900-9998 (payments.reports.params.parse_date), beside `format: date`.
DATE_YEAR_PATTERN = r"^(19[0-9]{2}|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-"


def decimal_pattern(field: Any) -> str | None:
    """What a DecimalField reads: digits (at most max_digits, decimal_places after the point), a sign only
    when negatives are allowed (drf-spectacular's own pattern also matched "" and "-")."""
    digits, places = field.max_digits, field.decimal_places
    if digits is None or places is None:
        return None
    sign = "" if field.min_value is not None and field.min_value >= 0 else "-?"
    whole = digits - places
    fraction = rf"(\.[0-9]{{1,{places}}})?" if places else ""
    return rf"^{sign}[0-9]{{1,{max(whole, 1)}}}{fraction}$"


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's, stating rules the serializers enforce: a StrictSerializer body refuses fields it
    does not know (`additionalProperties: false`), a list that may not be empty has `minItems: 1` (DRF's
    `allow_empty=False`), a nested list its `min_length`/`max_length`; text in a body refuses control
    characters (a `pattern`), decimals are what DecimalField reads, a body `month` is YYYY-MM."""

    def _map_basic_serializer(self, serializer: Any, direction: str) -> dict[str, Any]:
        base: Any = super()  # drf-spectacular is untyped
        schema: dict[str, Any] = base._map_basic_serializer(serializer, direction)
        if direction == "request" and isinstance(serializer, StrictSerializer):
            schema["additionalProperties"] = False
        if direction == "request" and getattr(serializer, "min_properties", None):
            schema["minProperties"] = serializer.min_properties  # "send at least one field"
        return schema

    def _insert_field_validators(self, field: Any, schema: dict[str, Any]) -> None:
        """drf-spectacular wraps a blank-allowed string that has a pattern in `oneOf: [it, {maxLength: 0}]`; with
        BLANK_TEXT_PATTERN "" matches both branches, which `oneOf` forbids: the text pattern, which admits
        "" itself, stays a plain string schema."""
        base: Any = super()
        base._insert_field_validators(field, schema)
        members = schema.get("oneOf")
        if isinstance(members, list) and len(members) == 2 and members[0].get("pattern") == BLANK_TEXT_PATTERN:
            schema.update(schema.pop("oneOf")[0])

    def _map_serializer_field(self, field: Any, direction: str, bypass_extensions: bool = False) -> Any:
        base: Any = super()
        schema = base._map_serializer_field(field, direction, bypass_extensions)
        if direction == "request" and isinstance(schema, dict):
            _text_constraints(field, schema)
        if not isinstance(field, serializers.ListField | serializers.ListSerializer) or not isinstance(schema, dict):
            return schema
        if schema.get("type") != "array":
            return schema
        if isinstance(field, serializers.ListSerializer):
            for attribute, keyword in (("min_length", "minItems"), ("max_length", "maxItems")):
                if getattr(field, attribute, None) is not None:
                    schema[keyword] = getattr(field, attribute)
        if field.allow_empty is False and not schema.get("minItems"):
            schema["minItems"] = 1
        return schema


def _text_constraints(field: Any, schema: dict[str, Any]) -> None:
    if isinstance(field, serializers.DecimalField) and schema.get("type") == "string":
        pattern = decimal_pattern(field)
        if pattern:
            schema["pattern"] = pattern
        return
    if not isinstance(field, serializers.CharField) or schema.get("type") != "string":
        return
    own = getattr(field, "request_pattern", None)
    if own:
        schema["pattern"] = own  # a field's own statement of what it accepts
        return
    if "enum" in schema or "format" in schema or "pattern" in schema:
        return
    if any(isinstance(v, RegexValidator) for v in field.validators):
        return  # drf-spectacular states the field's own pattern
    if field.field_name == "month":
        schema["pattern"] = MONTH_PATTERN
    else:  # blank allowed: the same characters, none at all included (not a oneOf with "", see below)
        schema["pattern"] = BLANK_TEXT_PATTERN if field.allow_blank else BODY_TEXT_PATTERN


# Downloads name their file; declared on the operations that send one (`parameters=[..., CONTENT_DISPOSITION]`).
CONTENT_DISPOSITION = OpenApiParameter(
    "Content-Disposition",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200],
    description='On a download: `attachment; filename="…"` (inline for a PDF file).',
)
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying (nothing was saved).",
        "schema": {"type": "integer", "minimum": 0},
    }
}


def add_constraints(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Month parameters' YYYY-MM pattern (acountee/months.py, the one parser) and `Retry-After` on the answers that
    carry it: 503 (database), 429 (sign-in lock-out), 409 (BUSY, CONFLICT_RETRY). After add_error_responses."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and parameter.get("name") == "month":
                    parameter["schema"] = {**parameter.get("schema", {}), "type": "string", "pattern": MONTH_PATTERN}
                if parameter.get("in") == "query":
                    _query_text_constraints(parameter)
            _body_required_when_fields_are(operation, result)
            for code, response in operation.get("responses", {}).items():
                if code in ("409", "429", "503"):
                    response.setdefault("headers", {}).update(RETRY_AFTER)
    return result


def _body_required_when_fields_are(operation: dict[str, Any], result: dict[str, Any]) -> None:
    """A body that must hold a field (`minProperties`) cannot be left out either: PATCH bodies are optional
    otherwise."""
    body = operation.get("requestBody")
    if not isinstance(body, dict):
        return
    schemas = result.get("components", {}).get("schemas", {})
    for media in body.get("content", {}).values():
        ref = media.get("schema", {}).get("$ref", "")
        if schemas.get(ref.rsplit("/", 1)[-1], {}).get("minProperties"):
            body["required"] = True


def _query_text_constraints(parameter: dict[str, Any]) -> None:
    """Query text: no control characters; a required one is never empty (the server reads "" as missing)."""
    schema = parameter.get("schema")
    if not isinstance(schema, dict) or schema.get("type") != "string":
        return
    if parameter.get("required"):
        schema.setdefault("minLength", 1)
    if not ({"enum", "format", "pattern"} & set(schema)):
        schema["pattern"] = QUERY_TEXT_PATTERN


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


# --- file content typed as served (issue 20) ---------------------------------------------------------------
TEXT_SCHEMA: dict[str, Any] = {"type": "string"}
BINARY_SCHEMA: dict[str, Any] = {"type": "string", "format": "binary"}


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def type_file_content(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """A response's non-JSON media types carry what they say: `text/*` (CSV) is text, `{type: string}` — generated
    clients read it as a string (openapi-python-client wraps a binary `text/csv` answer in a file from the text and
    fails); anything else (XLSX, PDF, …) is bytes, `format: binary`. drf-spectacular gives a renderer's media type
    the JSON schema of the serializer (a report's CSV declared as a `Report` object) or whatever the view said."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for response in operation.get("responses", {}).values():
                for media_type, content in (response.get("content") or {}).items():
                    if not _is_json(media_type) and isinstance(content, dict):
                        content["schema"] = dict(TEXT_SCHEMA if media_type.startswith("text/") else BINARY_SCHEMA)
    return result
