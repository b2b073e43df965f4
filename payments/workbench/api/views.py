"""`/api/workbench/…`: invoice cleanup, bank-transfer export, export templates, paid-PR import.
Every endpoint needs the `workbench` team capability (HasWorkbench → 403 NO_WORKBENCH_ACCESS)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import api_user
from acountee.api.pagination import page_parameters
from acountee.api.params import present
from acountee.api.schema import CONTENT_DISPOSITION
from acountee.api.sync import SyncFilterBackend
from acountee.api.viewsets import APIView, GenericAPIView, GenericViewSet
from payments.workbench import exports, selectors, services
from payments.workbench.api.permissions import HasWorkbench
from payments.workbench.api.serializers import (
    CleanupInvoiceSerializer,
    CleanupPageSerializer,
    CleanupRequestSerializer,
    CleanupResultSerializer,
    ExportQuerySerializer,
    ExportTemplateSerializer,
    MonthQuerySerializer,
    PaidImportQuerySerializer,
    PaidImportReportSerializer,
    PaidImportUploadSerializer,
)
from payments.workbench.models import ExportTemplate

TAGS = ["workbench"]


class _IgnoreFormatParameter(DefaultContentNegotiation):
    """The export writes its file itself (`?format=csv|xlsx` is its own parameter): whatever `Accept` says, no
    406; errors render with the first renderer (JSON)."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


def _valid(serializer_class: type, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    validated: dict[str, Any] = serializer.validated_data
    return validated


class CleanupView(GenericAPIView):
    permission_classes = [HasWorkbench]
    serializer_class = CleanupInvoiceSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Any]:
        month = selectors.parse_month(
            _valid(MonthQuerySerializer, {"month": self.request.query_params.get("month")})["month"]
        )
        return selectors.cleanup_candidates(month=month)

    @extend_schema(
        tags=TAGS,
        summary="Invoices of a month still to clean (imported, never linked), with counts",
        parameters=[
            OpenApiParameter("month", OpenApiTypes.STR, required=True, description="YYYY-MM"),
            *page_parameters(),  # it pages like every list (the document did not say so)
        ],
        responses=CleanupPageSerializer,
    )
    def get(self, request: Request) -> Response:
        params = present(request.query_params).dict()
        params.pop("page", None), params.pop("page_size", None)
        month = selectors.parse_month(_valid(MonthQuerySerializer, params)["month"])
        page = self.paginate_queryset(selectors.cleanup_candidates(month=month))
        response = self.get_paginated_response(self.get_serializer(page, many=True).data)
        response.data = {"month": str(month), "counts": selectors.cleanup_counts(month=month), **response.data}
        return response

    @extend_schema(
        tags=TAGS,
        summary="Mark invoices obsolete (each on its own; result per invoice)",
        request=CleanupRequestSerializer,
        responses=CleanupResultSerializer,
    )
    def post(self, request: Request) -> Response:
        data = _valid(CleanupRequestSerializer, request.data)
        month = selectors.parse_month(data["month"]) if data.get("month") else None
        results = services.cleanup_mark_obsolete(ids=data["ids"], actor=api_user(request))
        body: dict[str, Any] = {
            "results": results,
            "cleaned": sum(1 for r in results if r["result"] == "obsolete"),
            "failed": sum(1 for r in results if r["result"] == "failed"),
        }
        if month is not None:
            body["counts"] = selectors.cleanup_counts(month=month)
        return Response(body)


class ExportView(APIView):
    permission_classes = [HasWorkbench]
    content_negotiation_class = _IgnoreFormatParameter

    @extend_schema(
        tags=TAGS,
        summary="Bank-transfer file of approved PRs (CSV UTF-8 with BOM, or XLSX)",
        parameters=[ExportQuerySerializer, CONTENT_DISPOSITION],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="CSV, streamed"),
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiResponse(
                OpenApiTypes.BINARY, description="XLSX"
            ),
        },
    )
    def get(self, request: Request) -> Any:
        params = _valid(ExportQuerySerializer, present(request.query_params).dict())
        return exports.export_response(
            user=request.user,
            month=params.get("month"),
            ids=params.get("ids"),
            template_id=params.get("template"),
            fmt=params["format"],
        )


@extend_schema_view(
    list=extend_schema(tags=TAGS, summary="Your export templates"),
    retrieve=extend_schema(tags=TAGS),
    create=extend_schema(tags=TAGS, summary="Save an export template (columns, order, headers)"),
    partial_update=extend_schema(tags=TAGS),
    destroy=extend_schema(tags=TAGS),
)
class ExportTemplateViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    GenericViewSet,
):
    permission_classes = [HasWorkbench]
    serializer_class = ExportTemplateSerializer
    filter_backends: list[Any] = [SyncFilterBackend]
    pagination_class = None  # a plain array (a handful of templates): no cursor
    updated_since_field = "updated_at"
    ordering_fields = ("id", "updated_at", "created_at", "name")
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[ExportTemplate]:
        return selectors.export_template_list(user=api_user(self.request))

    def get_object(self) -> ExportTemplate:
        return selectors.export_template_get(user=api_user(self.request), template_id=self.kwargs.get("pk"))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = _valid(ExportTemplateSerializer, request.data)
        template = services.export_template_create(actor=api_user(request), name=data["name"], columns=data["columns"])
        return Response(ExportTemplateSerializer(template).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        template = self.get_object()
        serializer = ExportTemplateSerializer(template, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        template = services.export_template_update(
            template=template,
            actor=api_user(request),
            name=serializer.validated_data.get("name"),
            columns=serializer.validated_data.get("columns"),
        )
        return Response(ExportTemplateSerializer(template).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.export_template_delete(template=self.get_object(), actor=api_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ImportPaidView(APIView):
    permission_classes = [HasWorkbench]
    parser_classes = [MultiPartParser]

    @extend_schema(
        tags=TAGS,
        summary="Complete paid PRs from a bank file (?dry_run=true previews)",
        parameters=[PaidImportQuerySerializer],
        request={"multipart/form-data": PaidImportUploadSerializer},
        responses=PaidImportReportSerializer,
    )
    def post(self, request: Request) -> Response:
        query = _valid(PaidImportQuerySerializer, present(request.query_params).dict())
        upload = request.FILES.get("file")
        if upload is None or set(request.data) - {"file"}:
            _valid(PaidImportUploadSerializer, request.data)  # the standard 400 for missing/unknown fields
        report = services.paid_import(upload=upload, actor=api_user(request), dry_run=query["dry_run"])
        return Response(report.as_dict())
