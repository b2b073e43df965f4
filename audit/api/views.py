"""Reading the audit log and the security log (API.md: /api/audit/…)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from acountee.api.params import present
from acountee.api.schema import CONTENT_DISPOSITION
from acountee.api.sync import SYNC_PARAMETERS
from acountee.api.viewsets import GenericViewSet

# The codebase's one formula-injection helper (`=`, `+`, `-`, `@`, tab, CR → a leading `'`), shared by every
# spreadsheet export (the bank export, the reports, this audit CSV).
from acountee.spreadsheet import neutralise
from audit import selectors
from audit.api.permissions import CanReadAudit, CanReadSecurityEvents
from audit.api.serializers import (
    RECORD_ID_PATTERN,
    AuditEntrySerializer,
    AuditQuerySerializer,
    AuditStatSerializer,
    HistoryQuerySerializer,
    SecurityEventFilterSerializer,
    SecurityEventQuerySerializer,
    SecurityEventSerializer,
)
from audit.models import AuditEntry, SecurityEvent

FILTER_PARAMETERS = [
    OpenApiParameter("table", str, description="Table name, e.g. invoices"),
    OpenApiParameter("action", str, description="INSERT, UPDATE, DELETE or a semantic action"),
    OpenApiParameter("actor", str, description="User id, e-mail, system:<command> or unknown"),
    OpenApiParameter("record_id", str),
    OpenApiParameter("from", OpenApiTypes.DATETIME),
    OpenApiParameter("to", OpenApiTypes.DATETIME),
]
EXPORT_COLUMNS = [
    "id",
    "occurred_at",
    "action",
    "table",
    "record_id",
    "actor",
    "actor_user_id",
    "ip",
    "user_agent",
    "before",
    "after",
    "metadata",
    "checksum",
]


def _params(request: Request, serializer_class: type) -> Any:
    # updated_since, ordering, pagination, cursor: read by the sync filter and the paginator (acountee.api.sync).
    query = {key: value for key, value in present(request.query_params).dict().items() if key not in SYNC_PARAMETERS}
    payload = serializer_class(data=query)
    payload.is_valid(raise_exception=True)
    return payload


class _Echo:
    def write(self, value: str) -> str:
        return value


def _export_row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "occurred_at": entry.occurred_at.isoformat(),
        "action": entry.action,
        "table": entry.table_name,
        "record_id": entry.record_id,
        "actor": entry.actor,
        "actor_user_id": entry.actor_user_id,
        "ip": entry.ip,
        "user_agent": entry.user_agent,
        "before": entry.before,
        "after": entry.after,
        "metadata": entry.metadata,
        "checksum": entry.checksum,
    }


def _stream_csv(entries: QuerySet[AuditEntry]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(EXPORT_COLUMNS)  # BOM: spreadsheets read UTF-8 (Vietnamese) right
    for entry in entries.iterator(chunk_size=2000):
        row = _export_row(entry)
        for key in ("before", "after", "metadata"):
            row[key] = "" if row[key] is None else json.dumps(row[key], ensure_ascii=False, cls=DjangoJSONEncoder)
        # Text cells (a user agent, an actor, a JSON value) are neutralised against formula injection
        # exactly like the bank-transfer export's; numbers stay numbers.
        yield writer.writerow([_csv_cell(row[c]) for c in EXPORT_COLUMNS])


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    return neutralise(value) if isinstance(value, str) else value


def _stream_json(entries: QuerySet[AuditEntry]) -> Iterator[str]:
    yield "["
    first = True
    for entry in entries.iterator(chunk_size=2000):
        yield ("" if first else ",\n") + json.dumps(_export_row(entry), ensure_ascii=False, cls=DjangoJSONEncoder)
        first = False
    yield "]\n"


@extend_schema_view(
    list=extend_schema(parameters=FILTER_PARAMETERS, tags=["audit"]),
    retrieve=extend_schema(tags=["audit"]),
)
class AuditEntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    """The audit log, newest first. Read-only: the database refuses changes to it anyway."""

    permission_classes = [CanReadAudit]
    serializer_class = AuditEntrySerializer
    queryset = AuditEntry.objects.none()  # for the schema; get_queryset is what runs
    updated_since_field = "occurred_at"  # append-only: an entry never changes after it is written
    ordering_fields = ("id", "occurred_at")
    estimated_count = True  # millions of entries: an unfiltered count is the planner's estimate (issue 22)

    def get_queryset(self) -> QuerySet[AuditEntry]:
        if self.action == "list":
            return selectors.audit_entry_list(**_params(self.request, AuditQuerySerializer).filters())
        return selectors.audit_entry_list()

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # `?format=csv|json` is the export's own parameter, not DRF's renderer override.
        return super().perform_content_negotiation(request, force=force or self.action == "export")

    @extend_schema(
        parameters=[
            OpenApiParameter("table", str, required=True),
            OpenApiParameter("record_id", str, required=True, pattern=RECORD_ID_PATTERN),
        ],
        responses=AuditEntrySerializer(many=True),
        tags=["audit"],
    )
    @action(detail=False, methods=["get"])
    def history(self, request: Request) -> Response:
        """One record's history, oldest first, including its child rows (an invoice's line
        items; a payment request's links, attachments and approval chain)."""
        payload = _params(request, HistoryQuerySerializer)
        entries = selectors.record_history(
            table=payload.validated_data["table"], record_id=payload.validated_data["record_id"]
        )
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(AuditEntrySerializer(page, many=True).data)

    @extend_schema(
        parameters=[*FILTER_PARAMETERS, OpenApiParameter("format", str, enum=["csv", "json"]), CONTENT_DISPOSITION],
        responses={  # CSV first: the default format, and what a generated client reads the answer as
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV, streamed (`format=csv`, default)"),
            (200, "application/json"): OpenApiResponse(
                {"type": "array", "items": {"type": "object", "additionalProperties": True}},
                description="JSON array of entries, streamed (`format=json`)",
            ),
        },
        tags=["audit"],
    )
    @action(detail=False, methods=["get"])
    def export(self, request: Request) -> StreamingHttpResponse:
        payload = _params(request, AuditQuerySerializer)
        entries = selectors.audit_entry_list(**payload.filters())
        fmt = payload.validated_data.get("format") or "csv"
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        if fmt == "json":
            response = StreamingHttpResponse(_stream_json(entries), content_type="application/json")
        else:
            response = StreamingHttpResponse(_stream_csv(entries), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{fmt}"'
        return response

    @extend_schema(parameters=FILTER_PARAMETERS, responses=AuditStatSerializer(many=True), tags=["audit"])
    @action(detail=False, methods=["get"], pagination_class=None)  # a plain array, never paginated
    def stats(self, request: Request) -> Response:
        """Count and first/last time per table and action (honours the list's filters)."""
        payload = _params(request, AuditQuerySerializer)
        rows = selectors.audit_stats(base=selectors.audit_entry_list(**payload.filters()))
        return Response(AuditStatSerializer(rows, many=True).data)


@extend_schema_view(
    list=extend_schema(tags=["audit"], parameters=[SecurityEventFilterSerializer]),
    retrieve=extend_schema(tags=["audit"]),
)
class SecurityEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    """Sign-ins, sign-outs, lockouts, tokens, role changes and refused owner operations."""

    permission_classes = [CanReadSecurityEvents]
    serializer_class = SecurityEventSerializer
    queryset = SecurityEvent.objects.none()
    updated_since_field = "occurred_at"  # append-only
    ordering_fields = ("id", "occurred_at")

    def get_queryset(self) -> QuerySet[SecurityEvent]:
        if self.action != "list":
            return selectors.security_event_list()
        data = _params(self.request, SecurityEventQuerySerializer).validated_data
        return selectors.security_event_list(
            kind=data.get("kind"),
            user_id=data.get("user_id"),
            email=data.get("email"),
            date_from=data.get("from"),
            date_to=data.get("to"),
        )
