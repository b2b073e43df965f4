"""Admin pages of the reports: an index under Reports, one page per report (chart + table +
downloads). The compact block on the admin home (`{% reports_home_summary %}`) is included by the
home template, `payments/templates/admin/home.html`."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from acountee.admin_mixins import ReadOnlyAdminMixin
from acountee.errors import AcounteeError
from payments.reports import exports, registry
from payments.reports.charts import chart_for
from payments.reports.models import Report
from payments.reports.permissions import can_view_reports


@admin.register(Report)
class ReportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    def has_module_permission(self, request: HttpRequest) -> bool:
        return can_view_reports(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_view_reports(request.user)

    def get_urls(self) -> list[Any]:
        return [
            path("<slug:key>/", self.admin_site.admin_view(self.report_view), name="reports_report_detail"),
            path("", self.admin_site.admin_view(self.changelist_view), name="reports_report_changelist"),
        ]

    def _context(self, request: HttpRequest, title: Any) -> dict[str, Any]:
        return {**self.admin_site.each_context(request), "opts": self.model._meta, "title": title}

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if not can_view_reports(request.user):
            raise PermissionDenied
        reports = [
            {"spec": spec, "url": reverse("admin:reports_report_detail", args=[spec.key])}
            for spec in registry.REPORTS.values()
        ]
        return TemplateResponse(
            request,
            "reports/admin/list.html",
            {**self._context(request, self.model._meta.verbose_name_plural), "reports": reports},
        )

    def report_view(self, request: HttpRequest, key: str) -> HttpResponse:
        if not can_view_reports(request.user):
            raise PermissionDenied
        spec = registry.REPORTS.get(key)
        if spec is None:
            from django.http import Http404

            raise Http404
        fmt = request.GET.get("format", "")
        query = request.GET.copy()
        try:
            result = spec.run(query)
        except AcounteeError as exc:
            details = exc.details if isinstance(exc.details, dict) else {}
            problems = "; ".join(f"{name}: {' '.join(map(str, msgs))}" for name, msgs in details.items())
            messages.error(request, f"{exc.message} {problems}".strip())
            result = None
        if result is not None and fmt in ("csv", "xlsx"):
            body = exports.to_csv(result) if fmt == "csv" else exports.to_xlsx(result)
            content_type = exports.CSV_CONTENT_TYPE if fmt == "csv" else exports.XLSX_CONTENT_TYPE
            response = HttpResponse(body, content_type=content_type)
            response["Content-Disposition"] = f'attachment; filename="{exports.filename(result, fmt)}"'
            return response
        query.pop("format", None)
        tables = []
        if result is not None:
            for table in result.sections.values() if result.sections else [result]:
                # A code column (status, bucket, kind) is for the API and the exports: the page shows its name
                # column ("status_label") alone, so a Vietnamese reader never meets "draft" or "approved".
                keys = {k for k, _l in table.columns}
                shown = [(k, label) for k, label in table.columns if f"{k}_label" not in keys]
                tables.append(
                    {
                        "title": table.title,
                        "columns": [label for _k, label in shown],
                        "rows": [[row.get(k) for k, _l in shown] for row in table.rows],
                    }
                )
        return TemplateResponse(
            request,
            "reports/admin/report.html",
            {
                **self._context(request, spec.title),
                "spec": spec,
                "result": result,
                "tables": tables,
                "chart": chart_for(result) if result is not None else "",
                "query": query.urlencode(),
                "params": [(name, label, kind, request.GET.get(name, "")) for name, label, kind in _params(key)],
            },
        )


def _params(key: str) -> list[tuple[str, str, str]]:
    """(parameter, label in the reader's language, input type): the browser's month and date pickers show
    dates the reader's way and send them as the API reads them (YYYY-MM, YYYY-MM-DD)."""
    return {
        "payables-by-month": [("from", _("From month"), "month"), ("to", _("To month"), "month")],
        "payables-by-supplier": [
            ("from", pgettext("report parameter: first day", "From"), "date"),
            ("to", pgettext("report parameter: last day", "To"), "date"),
            ("top", _("Number of suppliers"), "number"),
        ],
        "aging": [("as_of", _("As of"), "date")],
        "approval-cycle-time": [("from", _("From month"), "month"), ("to", _("To month"), "month")],
    }.get(key, [])
