"""Serializer fields that close holes in DRF's own for hostile input."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


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
