"""Shared serializer pieces for every app's API."""

from __future__ import annotations

import re
from typing import Any

from django.db import models
from django.utils.translation import gettext as _
from rest_framework import serializers

from acountee.api.fields import BooleanField, DateTimeField

# NUL cannot reach PostgreSQL text or jsonb, nor a lone surrogate (`"\ud800"` in JSON) UTF-8 (a 500
# otherwise); the other C0 controls (and DEL) never belong in a name, note or reference. Tab, line feed
# and carriage return stay: notes have lines.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _has_control_characters(value: Any) -> bool:
    """Anywhere in a JSON value: strings, object keys, nested lists and objects (JSON fields too)."""
    if isinstance(value, str):
        return bool(CONTROL_RE.search(value))
    if isinstance(value, dict):
        return any(_has_control_characters(k) or _has_control_characters(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_control_characters(v) for v in value)
    return False


class StrictSerializer(serializers.Serializer):
    """Rejects fields the endpoint does not know (API contract: unknown fields are an error,
    not silently dropped — a typo in `payment_reference` must not pass unnoticed), strings with
    control characters anywhere in the input, and numbers or booleans sent for a text field
    (400 per field, the same on every endpoint)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            known = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - known)
            if unknown:
                raise serializers.ValidationError({name: [_("Unknown field.")] for name in unknown})
            items = data.lists() if hasattr(data, "lists") else data.items()  # QueryDict: every value
            controls = sorted(name for name, value in items if _has_control_characters(value))
            if controls:
                raise serializers.ValidationError(
                    {name: [_("Control or surrogate characters are not allowed.")] for name in controls}
                )
            # DRF's CharField turns 5 or true into "5"/"True": the document says string, so is it here.
            not_text = sorted(
                name
                for name, field in self.fields.items()
                if isinstance(field, serializers.CharField) and isinstance(data.get(name), int | float)
            )
            if not_text:
                raise serializers.ValidationError({name: [_("Not a valid string.")] for name in not_text})
        return super().to_internal_value(data)


class BulkFailureSerializer(serializers.Serializer):
    """One refused item of a bulk operation."""

    id = serializers.IntegerField()
    code = serializers.CharField()
    message = serializers.CharField()


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: DateTimeField,
        models.BooleanField: BooleanField,
    }
