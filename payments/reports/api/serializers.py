"""Response shapes (for the schema and the home summary). Report rows vary per report: their
columns are listed in `columns`."""

from __future__ import annotations

from rest_framework import serializers

from acountee.api.fields import JSONValueField
from acountee.api.serializers import StrictSerializer


class ColumnSerializer(StrictSerializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # the column's label; shadows Field.label


class ReportSerializer(StrictSerializer):
    report = serializers.CharField()
    title = serializers.CharField()
    params = serializers.DictField(child=JSONValueField())
    columns = ColumnSerializer(many=True)
    rows = serializers.ListField(
        child=serializers.DictField(child=JSONValueField()),
        help_text="One object per row, keyed by the `columns` keys.",
    )
    sections = serializers.DictField(child=JSONValueField())


class PayableCellSerializer(StrictSerializer):
    month = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.CharField()
    count = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=30, decimal_places=2)


class PendingSerializer(StrictSerializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    requested_at = serializers.DateTimeField(allow_null=True)
    approval__current_step = serializers.IntegerField(allow_null=True)


class HomeSummarySerializer(StrictSerializer):
    month = serializers.CharField()
    payables = PayableCellSerializer(many=True)
    total_count = serializers.IntegerField()
    total_amount = serializers.DecimalField(max_digits=30, decimal_places=2)
    oldest_pending = PendingSerializer(many=True)
