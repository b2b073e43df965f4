"""Back office: the Workbench page (cleanup, export, paid import) and the user's own export
templates. Access is the same check as the API (`services.ensure_workbench_access`); every
service refusal becomes an admin message through `ServiceCallMixin.call_service`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.authentication import admin_user
from acountee.admin_mixins import ServiceCallMixin
from acountee.errors import AcounteeError
from payments.workbench import exports, selectors, services
from payments.workbench.models import ExportTemplate

CLEANUP_PAGE_ROWS = 500


class ExportTemplateForm(forms.ModelForm):
    """Checks columns with the service's rules, so a bad template is a form error, not a
    half-saved row."""

    class Meta:
        model = ExportTemplate
        fields = ["name", "columns"]

    current_user: Any = None

    def clean_name(self) -> str:
        name = (self.cleaned_data.get("name") or "").strip()
        taken = selectors.export_template_list(user=self.current_user).filter(name=name)
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(_("You already have a template with this name."))
        return name

    def clean_columns(self) -> Any:
        try:
            return services.clean_template_columns(self.cleaned_data.get("columns"))
        except AcounteeError as exc:
            raise forms.ValidationError(str(exc.message)) from None


def _has_access(request: HttpRequest) -> bool:
    user = request.user
    return bool(user and user.is_authenticated and user.is_active and user.has_capability(services.CAPABILITY))


@admin.register(ExportTemplate)
class ExportTemplateAdmin(ServiceCallMixin, admin.ModelAdmin):
    """Each user sees and edits only their own templates; the Workbench page hangs off it."""

    form = ExportTemplateForm
    list_display = ["name", "column_list", "updated_at"]
    readonly_fields = ["created_at", "updated_at"]
    fields = ["name", "columns", "created_at", "updated_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ExportTemplate]:
        return selectors.export_template_list(user=admin_user(request))

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.current_user = request.user  # type: ignore[attr-defined]  # ExportTemplateForm's, read by its clean
        return form

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _has_access(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _has_access(request)

    has_add_permission = has_module_permission

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _has_access(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _has_access(request)

    @admin.display(description=gettext_lazy("columns"))
    def column_list(self, obj: ExportTemplate) -> str:
        return ", ".join(str(c.get("label", c.get("key"))) for c in obj.columns if isinstance(c, dict))

    def save_model(self, request: HttpRequest, obj: ExportTemplate, form: Any, change: bool) -> None:
        if change:
            saved = self.call_service(
                request,
                services.export_template_update,
                template=obj,
                actor=request.user,
                name=obj.name,
                columns=obj.columns,
            )
        else:
            saved = self.call_service(
                request, services.export_template_create, actor=request.user, name=obj.name, columns=obj.columns
            )
        if saved is not None:
            obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: ExportTemplate) -> None:
        self.call_service(request, services.export_template_delete, template=obj, actor=request.user)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("tools/", wrap(self.tools_view), name="workbench_tools"),
            path("tools/export/", wrap(self.export_view), name="workbench_export"),
            *super().get_urls(),
        ]

    # --- the Workbench page ------------------------------------------------------------------
    def _refuse(self, request: HttpRequest) -> HttpResponse | None:
        try:
            services.ensure_workbench_access(request.user)
        except AcounteeError as exc:
            messages.error(request, str(exc.message))
            return HttpResponseRedirect(reverse("admin:index"))
        return None

    def tools_view(self, request: HttpRequest) -> HttpResponse:
        refused = self._refuse(request)
        if refused is not None:
            return refused
        month_text = (request.POST.get("month") or request.GET.get("month") or f"{timezone.localdate():%Y-%m}").strip()
        month = self.call_service(request, selectors.parse_month, value=month_text)
        import_report = None
        cleanup_results = None
        if request.method == "POST":
            action = request.POST.get("action")
            if action == "cleanup":
                ids = self.call_service(request, selectors.parse_ids, value=request.POST.getlist("ids"), limit=5000)
                if ids is not None:
                    cleanup_results = self.call_service(
                        request, services.cleanup_mark_obsolete, ids=ids, actor=request.user
                    )
                    if cleanup_results is not None:
                        done = sum(1 for r in cleanup_results if r["result"] == "obsolete")
                        messages.success(
                            request,
                            _("%(done)d of %(total)d invoices marked obsolete.")
                            % {"done": done, "total": len(cleanup_results)},
                        )
            elif action in ("preview", "import"):
                upload = request.FILES.get("file")
                if upload is None:
                    messages.error(request, _("Choose a file to upload."))
                else:
                    import_report = self.call_service(
                        request, services.paid_import, upload=upload, actor=request.user, dry_run=action == "preview"
                    )
                    if import_report is not None:
                        messages.info(request, import_report.message)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Period-end workbench"),
            "opts": self.model._meta,
            "month": month_text,
            "counts": selectors.cleanup_counts(month=month) if month else None,
            "candidates": list(selectors.cleanup_candidates(month=month)[:CLEANUP_PAGE_ROWS]) if month else [],
            "page_rows": CLEANUP_PAGE_ROWS,
            "cleanup_results": cleanup_results,
            "templates": list(selectors.export_template_list(user=admin_user(request))),
            "import_report": import_report.as_dict() if import_report is not None else None,
        }
        return TemplateResponse(request, "admin/workbench/tools.html", context)

    def export_view(self, request: HttpRequest) -> HttpResponse:
        refused = self._refuse(request)
        if refused is not None:
            return refused
        response = self.call_service(
            request,
            exports.export_response,
            user=request.user,
            month=request.GET.get("month"),
            ids=request.GET.get("ids"),
            template_id=request.GET.get("template"),
            fmt=request.GET.get("format", "csv"),
        )
        if response is None:
            return HttpResponseRedirect(reverse("admin:workbench_tools") + f"?month={request.GET.get('month', '')}")
        return response


# The Workbench page is linked from the admin index as an entry of the workbench app.
_original_get_app_list = admin.site.get_app_list


def _get_app_list(request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
    app_list = _original_get_app_list(request, app_label)
    if not _has_access(request):
        return app_list
    for app in app_list:
        if app.get("app_label") == "workbench":
            app["models"].insert(
                0,
                {
                    "name": _("Workbench: cleanup, export, paid import"),
                    "object_name": "WorkbenchTools",
                    "admin_url": reverse("admin:workbench_tools"),
                    "add_url": None,
                    "view_only": True,
                    "perms": {"view": True},
                    "model": ExportTemplate,
                },
            )
    return app_list


admin.site.get_app_list = _get_app_list  # type: ignore[method-assign]
