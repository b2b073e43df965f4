"""Shared serializer pieces for every app's API."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext as _
from rest_framework import serializers

from acountee.api.fields import DateTimeField


class StrictSerializer(serializers.Serializer):
    """Rejects fields the endpoint does not know (API contract: unknown fields are an error,
    not silently dropped — a typo in `payment_reference` must not pass unnoticed)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            known = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - known)
            if unknown:
                raise serializers.ValidationError({name: [_("Unknown field.")] for name in unknown})
        return super().to_internal_value(data)


class BulkFailureSerializer(serializers.Serializer):
    """One refused item of a bulk operation."""

    id = serializers.IntegerField()
    code = serializers.CharField()
    message = serializers.CharField()


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    serializer_field_mapping = {**serializers.ModelSerializer.serializer_field_mapping,
                                models.DateTimeField: DateTimeField}
