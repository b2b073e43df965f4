"""`/api/reports/…`: each report as JSON, or as a download with `?format=csv` / `?format=xlsx`."""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import renderers
from rest_framework.request import Request
from rest_framework.response import Response

from acountee.api.negotiation import QueryFormatNegotiation
from acountee.api.params import present
from acountee.api.schema import CONTENT_DISPOSITION, DATE_YEAR_PATTERN
from acountee.api.viewsets import APIView
from acountee.db.router import reads_from_replica
from acountee.months import MONTH_PATTERN
from payments.reports import exports, queries, registry
from payments.reports.api.serializers import HomeSummarySerializer, ReportSerializer
from payments.reports.params import no_params, today
from payments.reports.permissions import CanViewReports

TAGS = ["reports"]
FORMAT = OpenApiParameter(
    "format", OpenApiTypes.STR, enum=["json", "csv", "xlsx"], description="json (default), or a csv / xlsx download."
)


class _DownloadRenderer(renderers.BaseRenderer):
    """Lets DRF's content negotiation accept `?format=csv|xlsx`; the view writes the bytes itself."""

    charset = None

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return b""


class CSVRenderer(_DownloadRenderer):
    media_type = "text/csv"
    format = "csv"


class XLSXRenderer(_DownloadRenderer):
    media_type = exports.XLSX_CONTENT_TYPE
    format = "xlsx"


class ReportView(APIView):
    permission_classes = [CanViewReports]
    renderer_classes = [renderers.JSONRenderer, CSVRenderer, XLSXRenderer]
    content_negotiation_class = QueryFormatNegotiation  # `?format=csv|xlsx`, declared below
    report_key = ""

    def handle_exception(self, exc: Exception) -> Response:
        # Errors are JSON whatever format was asked for.
        self.request.accepted_renderer = renderers.JSONRenderer()
        self.request.accepted_media_type = "application/json"
        return super().handle_exception(exc)

    @reads_from_replica  # reports tolerate lag (docs/deployment.md)
    def get(self, request: Request) -> Any:
        spec = registry.REPORTS[self.report_key]
        result = spec.run(present(request.query_params))
        fmt = getattr(request.accepted_renderer, "format", "json")
        if fmt == "csv":
            response = HttpResponse(exports.to_csv(result), content_type=exports.CSV_CONTENT_TYPE)
        elif fmt == "xlsx":
            response = HttpResponse(exports.to_xlsx(result), content_type=exports.XLSX_CONTENT_TYPE)
        else:
            return Response(registry.to_json(result))
        response["Content-Disposition"] = f'attachment; filename="{exports.filename(result, fmt)}"'
        return response


def _report_view(key: str, parameters: list[OpenApiParameter]) -> type[ReportView]:
    spec = registry.REPORTS[key]

    # A function of its own per report: extend_schema annotates the function it decorates, and decorating
    # ReportView.get itself gave every report the parameters of all of them (issue 20).
    def get(self: ReportView, request: Request) -> Any:
        return ReportView.get(self, request)

    get = extend_schema(
        tags=TAGS,
        summary=str(spec.title),
        description=str(spec.description),
        parameters=[*parameters, FORMAT, CONTENT_DISPOSITION],
        responses=ReportSerializer,
    )(get)
    return cast(
        type[ReportView], type(f"Report_{key.replace('-', '_')}", (ReportView,), {"report_key": key, "get": get})
    )


def _p(name: str, description: str, type_: Any = OpenApiTypes.STR, pattern: str | None = None) -> OpenApiParameter:
    return OpenApiParameter(name, type_, description=description, pattern=pattern)


PayablesByMonthView = _report_view(
    "payables-by-month",
    [
        _p("from", "First month, YYYY-MM (default: 11 months before `to`).", pattern=MONTH_PATTERN),
        _p("to", "Last month, YYYY-MM.", pattern=MONTH_PATTERN),
    ],
)
PayablesBySupplierView = _report_view(
    "payables-by-supplier",
    [
        _p("from", "Issue date from, YYYY-MM-DD (year 1900-9998).", OpenApiTypes.DATE, DATE_YEAR_PATTERN),
        _p("to", "Issue date to (inclusive), YYYY-MM-DD (year 1900-9998).", OpenApiTypes.DATE, DATE_YEAR_PATTERN),
        _p("top", "How many suppliers, 1-100 (default 10).", {"type": "integer", "minimum": 1, "maximum": 100}),
    ],
)
AgingView = _report_view(
    "aging",
    [
        _p(
            "as_of",
            "Age at this date, YYYY-MM-DD, year 1900-9998 (default today).",
            OpenApiTypes.DATE,
            DATE_YEAR_PATTERN,
        )
    ],
)
ApprovalCycleTimeView = _report_view(
    "approval-cycle-time",
    [
        _p(
            "from",
            "First month of completed approvals, YYYY-MM (default: 11 months before `to`).",
            pattern=MONTH_PATTERN,
        ),
        _p(
            "to",
            "Last month of completed approvals, YYYY-MM (default: this month; at most 120 months after `from`).",
            pattern=MONTH_PATTERN,
        ),
    ],
)


class HomeSummaryView(APIView):
    """The admin home's compact block: this month's payables by status, oldest pending approvals."""

    permission_classes = [CanViewReports]

    @extend_schema(tags=TAGS, summary="Home summary", responses=HomeSummarySerializer)
    def get(self, request: Request) -> Response:
        no_params(present(request.query_params))
        summary = queries.home_summary(today=today())
        return Response(HomeSummarySerializer(summary).data)
