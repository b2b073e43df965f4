from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from acountee.api.fields import DateTimeField, JSONObjectField, JSONValueField, NullableJSONObjectField
from acountee.api.serializers import StrictSerializer
from audit.models import AuditEntry, SecurityEvent, SecurityEventKind
from audit.selectors import row_changes

EXPORT_FORMATS = (("csv", "CSV"), ("json", "JSON"))

RECORD_ID_PATTERN = r"^[0-9A-Za-z_\-:.]{1,64}$"  # a history's record id (stated in the document too)


class AuditQuerySerializer(StrictSerializer):
    """Query parameters of the audit list and export (unknown ones are refused)."""

    table = serializers.CharField(required=False, max_length=128)
    action = serializers.CharField(required=False, max_length=64)
    actor = serializers.CharField(required=False, max_length=255)
    record_id = serializers.CharField(required=False, max_length=64)
    # `from`/`to` are Python keywords: declared under these names, renamed in get_fields.
    from_ = DateTimeField(required=False, help_text=_("Entries at or after this time (ISO 8601)."))
    to = DateTimeField(required=False, help_text=_("Entries before this time (ISO 8601)."))
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1)
    format = serializers.ChoiceField(required=False, choices=EXPORT_FORMATS)

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields

    def filters(self) -> dict[str, Any]:
        data = self.validated_data
        return {
            "table": data.get("table"),
            "action": data.get("action"),
            "actor": data.get("actor"),
            "record_id": data.get("record_id"),
            "date_from": data.get("from"),
            "date_to": data.get("to"),
        }


class HistoryQuerySerializer(StrictSerializer):
    table = serializers.CharField(max_length=128)
    record_id = serializers.RegexField(RECORD_ID_PATTERN, max_length=64)
    # The history is paginated like every list (these were refused as unknown fields).
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1)


class SecurityEventFilterSerializer(StrictSerializer):
    """The security log's filters, declared in the OpenAPI document as the list's query parameters."""

    kind = serializers.ChoiceField(required=False, choices=SecurityEventKind.choices)
    user_id = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    email = serializers.CharField(required=False, max_length=255)
    from_ = DateTimeField(required=False, help_text=_("Entries at or after this time (ISO 8601)."))
    to = DateTimeField(required=False, help_text=_("Entries before this time (ISO 8601)."))

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


class SecurityEventQuerySerializer(SecurityEventFilterSerializer):
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1)


class AuditEntrySerializer(serializers.ModelSerializer):
    table = serializers.CharField(source="table_name", read_only=True)
    before = NullableJSONObjectField(read_only=True, help_text=_("The row before the change (null for INSERT)."))
    after = NullableJSONObjectField(read_only=True, help_text=_("The row after the change (null for DELETE)."))
    metadata = JSONObjectField(read_only=True)
    changes = serializers.SerializerMethodField()

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "action",
            "table",
            "record_id",
            "before",
            "after",
            "changes",
            "actor",
            "actor_user_id",
            "occurred_at",
            "ip",
            "user_agent",
            "metadata",
            "checksum",
        ]
        read_only_fields = fields

    @extend_schema_field(
        serializers.DictField(
            child=serializers.ListField(child=JSONValueField(), min_length=2, max_length=2),
            help_text=_("Changed columns: [old, new]."),
        )
    )
    def get_changes(self, obj: AuditEntry) -> dict[str, list[Any]]:
        return row_changes(obj)


class AuditStatSerializer(serializers.Serializer):
    table = serializers.CharField(source="table_name")
    action = serializers.CharField()
    count = serializers.IntegerField()
    first = serializers.DateTimeField()
    last = serializers.DateTimeField()


class SecurityEventSerializer(serializers.ModelSerializer):
    details = JSONObjectField(read_only=True)

    class Meta:
        model = SecurityEvent
        fields = ["id", "kind", "user_id", "email", "occurred_at", "ip", "user_agent", "details"]
        read_only_fields = fields
