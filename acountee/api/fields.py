"""Serializer fields that close holes in DRF's own for hostile input."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


class BooleanField(serializers.BooleanField):
    """true or false in a JSON body (DRF also takes 0, 1, "yes", "off"… there: the document says
    boolean, so a number is a 400); a form's text values ("true", "0"…) are read as DRF does."""

    def to_internal_value(self, data: Any) -> Any:
        form = hasattr(getattr(self.root, "initial_data", None), "getlist")
        if isinstance(data, bool) or (form and isinstance(data, str)):
            return super().to_internal_value(data)
        self.fail("invalid", input=data)


class DateTimeField(serializers.DateTimeField):
    """DRF's DateTimeField, but a time at the edge of the calendar (`0001-01-01` in a zone east of
    UTC, `9999-12-31T23:59` west of it) is a 400 instead of an OverflowError (500) while DRF checks
    the time against the zone."""

    default_error_messages = {"out_of_range": _("This time is out of the supported range.")}

    def enforce_timezone(self, value: datetime) -> Any:
        try:
            return super().enforce_timezone(value)
        except OverflowError:
            self.fail("out_of_range")


# --- typed JSON in the OpenAPI document (no untyped `{}` fields) ------------------------------------------
# Any JSON value; the component is added by acountee.api.schema.add_error_responses. Deliberately the any-value
# schema, not a recursive one (`anyOf: [..., {type: array, items: {$ref: JsonValue}}]`, as it was until issue 20):
# client generators drop or loop on schemas that reference themselves (tests/api/test_document_validates.py).
JSON_VALUE: dict[str, Any] = {"$ref": "#/components/schemas/JsonValue"}
JSON_VALUE_SCHEMA: dict[str, Any] = {
    "description": (
        "Any JSON value: a string, a number, a boolean, null, an object or an array (of any of these, nested). "
        "Where it appears, the field's description says what it holds."
    ),
}


@extend_schema_field({"type": "object", "additionalProperties": True})
class JSONObjectField(serializers.JSONField):
    """A JSON object whose keys vary (extras, metadata, event details)."""


@extend_schema_field({"type": "object", "additionalProperties": True, "nullable": True})
class NullableJSONObjectField(serializers.JSONField):
    """A JSON object or null (an audit row before an INSERT / after a DELETE)."""


@extend_schema_field(JSON_VALUE)
class JSONValueField(serializers.JSONField):
    """Any JSON value (a report cell, an audited column's old or new value)."""
