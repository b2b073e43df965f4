"""Shapes of the workbench API (inputs strict: unknown fields are refused)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from acountee.api.serializers import StrictModelSerializer, StrictSerializer
from payments.workbench.exports import COLUMNS
from payments.workbench.models import ExportTemplate


class MonthQuerySerializer(StrictSerializer):
    month = serializers.CharField(help_text="YYYY-MM (local months, Asia/Ho_Chi_Minh).")


class CleanupInvoiceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    series = serializers.CharField()
    number = serializers.CharField()
    issue_date = serializers.DateField()
    seller_name = serializers.CharField()
    seller_tax_code = serializers.CharField()
    total_payable = serializers.DecimalField(max_digits=18, decimal_places=2)
    currency = serializers.CharField()
    status = serializers.CharField()


class CleanupCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    remaining = serializers.IntegerField(help_text="Imported and never linked: still to clean.")
    cleaned = serializers.IntegerField(help_text="Marked obsolete.")
    linked = serializers.IntegerField()
    completed = serializers.IntegerField()


class CleanupPageSerializer(serializers.Serializer):
    month = serializers.CharField()
    counts = CleanupCountsSerializer()
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = CleanupInvoiceSerializer(many=True)


class CleanupRequestSerializer(StrictSerializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=10**18 - 1), allow_empty=False, max_length=5000
    )
    month = serializers.CharField(required=False, help_text="Optional: the answer then carries the month's counts.")


class CleanupResultRowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    result = serializers.ChoiceField(choices=["obsolete", "failed"])
    code = serializers.CharField()
    message = serializers.CharField()


class CleanupResultSerializer(serializers.Serializer):
    results = CleanupResultRowSerializer(many=True)
    cleaned = serializers.IntegerField()
    failed = serializers.IntegerField()
    counts = CleanupCountsSerializer(required=False)


class TemplateColumnSerializer(StrictSerializer):
    key = serializers.ChoiceField(choices=list(COLUMNS))
    label = serializers.CharField(  # type: ignore[assignment]  # the column's header; shadows Field.label
        max_length=100, required=False, allow_blank=True
    )


@extend_schema_field(TemplateColumnSerializer(many=True, min_length=1, max_length=len(COLUMNS)))  # type: ignore[call-arg]
class TemplateColumnsField(serializers.JSONField):
    """Checked by the service (known keys, no duplicates, label length); typed here for the document,
    and a label that is not text is refused here (the service would have printed `{}` as the header)."""

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        if isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict) and not isinstance(item.get("label", ""), str):
                    # Keyed by the item's index, as DRF's ListField reports item errors (the stubs want str keys).
                    raise serializers.ValidationError({index: ["Not a valid string."]})  # type: ignore[dict-item]
        return value


class ExportTemplateSerializer(StrictModelSerializer):
    columns = TemplateColumnsField(help_text="[{key, label}] in export order; keys: " + ", ".join(COLUMNS))

    class Meta:
        model = ExportTemplate
        fields = ["id", "name", "columns", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


# What `selectors.parse_ids` reads (positive whole numbers, at most 18 digits, comma-separated), stated in the
# document (issue 20); the server's own check and its INVALID_IDS code stay.
@extend_schema_field({"type": "string", "pattern": r"^ *[1-9][0-9]{0,17} *(, *[1-9][0-9]{0,17} *)*$"})
class IdsText(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "pattern": r"^[0-9]{1,18}$"})
class IdText(serializers.CharField):
    pass


class ExportQuerySerializer(StrictSerializer):
    month = serializers.CharField(required=False, help_text="YYYY-MM; required unless ids are given.")
    format = serializers.ChoiceField(choices=["csv", "xlsx"], default="csv")
    ids = IdsText(required=False, help_text="Comma-separated PR ids (only approved ones export).")
    template = IdText(required=False, help_text="Id of one of your export templates.")


class PaidImportQuerySerializer(StrictSerializer):
    dry_run = serializers.BooleanField(default=False)


class PaidImportUploadSerializer(StrictSerializer):
    file = serializers.FileField(help_text="CSV `pr_id,payment_reference` (UTF-8) or the export's XLSX.")


class PaidImportRowSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    pr_id = serializers.CharField()
    payment_reference = serializers.CharField()
    status = serializers.CharField(
        help_text="ok, invalid_id, unknown_pr, not_approved, duplicate_row, "
        "empty_reference, reference_too_long, invalid_reference, "
        "already_completed_other_reference, already_completed"
    )
    message = serializers.CharField()
    result = serializers.CharField(help_text="After an import: completed, unchanged, skipped or failed.")
    code = serializers.CharField()
    current_reference = serializers.CharField()


class PaidImportReportSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    total_rows = serializers.IntegerField()
    statuses = serializers.DictField(child=serializers.IntegerField())
    results = serializers.DictField(child=serializers.IntegerField())
    completed = serializers.IntegerField()
    changed = serializers.BooleanField()
    message = serializers.CharField()
    rows = PaidImportRowSerializer(many=True)
