"""Read-only admin for the audit and security logs, and `AuditHistoryMixin`, which shows a
business object's audited history (who, when, old → new per field) on its admin pages."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from acountee.admin_mixins import ReadOnlyAdminMixin
from audit import selectors
from audit.audit_actions import action_choices
from audit.context import current_request
from audit.display import action_label, audited_tables, history_rows, table_label
from audit.models import AuditEntry, SecurityEvent

HISTORY_ROWS_ON_CHANGE_PAGE = 50
HISTORY_ROWS_ON_HISTORY_PAGE = 500


class AuditHistoryMixin:
    """Mix into a ModelAdmin to show the object's audit history:

    - the admin's own "History" button shows the full audited history (this table and the
      child tables declared in `audit.history`), instead of Django's LogEntry list;
    - add `"audit_history"` to `readonly_fields` (and to a fieldset) to show the latest
      entries right on the change page.

    Whoever may view the object sees its own history (issue #9: "the audit history" on the PR
    page for the people who see the PR); the audit log itself (AuditEntryAdmin) stays owner-only.
    """

    audit_table: str | None = None  # defaults to the model's db_table

    def _audit_table(self) -> str:
        return self.audit_table or self.model._meta.db_table  # type: ignore[attr-defined]

    def _can_read_history(self, request: HttpRequest, obj: Any) -> bool:
        return bool(request.user.is_active and self.has_view_or_change_permission(request, obj))  # type: ignore[attr-defined]

    @admin.display(description=_("history"))
    def audit_history(self, obj: Any) -> SafeString:
        if obj is None or obj.pk is None:
            return mark_safe("")
        request = current_request()  # the admin instance is shared between threads: not self.request
        if request is None or not self._can_read_history(request, obj):
            return mark_safe("")
        entries = selectors.record_history(table=self._audit_table(), record_id=str(obj.pk)).order_by("-id")
        # The latest entries only, one more read to know whether there are others: a person reads a
        # page, not a record's thousands of entries; the rest is one link away (the History page).
        rows = history_rows(entries[: HISTORY_ROWS_ON_CHANGE_PAGE + 1])
        context: dict[str, Any] = {"rows": rows[:HISTORY_ROWS_ON_CHANGE_PAGE]}
        if len(rows) > HISTORY_ROWS_ON_CHANGE_PAGE:
            opts = self.model._meta  # type: ignore[attr-defined]
            context["more_url"] = reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[obj.pk])
            context["limit"] = HISTORY_ROWS_ON_CHANGE_PAGE
        return mark_safe(render_to_string("admin/audit/history_table.html", context))  # noqa: S308 - escaped template

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        from django.core.exceptions import PermissionDenied

        model = self.model  # type: ignore[attr-defined]
        obj = get_object_or_404(self.get_queryset(request), pk=object_id)  # type: ignore[attr-defined]
        if not self._can_read_history(request, obj):
            raise PermissionDenied
        entries = selectors.record_history(table=self._audit_table(), record_id=str(obj.pk)).order_by("-id")
        rows = history_rows(entries[: HISTORY_ROWS_ON_HISTORY_PAGE + 1])
        log_url = None
        if len(rows) > HISTORY_ROWS_ON_HISTORY_PAGE and request.user.has_perm("audit.view_auditentry"):
            # The audit log (owners) has every entry of the record itself; its children by their own ids.
            query = urlencode({"table_name__exact": self._audit_table(), "q": obj.pk})
            log_url = f"{reverse('admin:audit_auditentry_changelist')}?{query}"
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "title": _("History: %(object)s") % {"object": obj},
            "subtitle": None,
            "object": obj,
            "opts": model._meta,
            "app_label": model._meta.app_label,
            "rows": rows[:HISTORY_ROWS_ON_HISTORY_PAGE],
            "limit": HISTORY_ROWS_ON_HISTORY_PAGE if len(rows) > HISTORY_ROWS_ON_HISTORY_PAGE else None,
            "log_url": log_url,
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name  # type: ignore[attr-defined]
        return TemplateResponse(request, "admin/audit/object_history.html", context)


class ReadOnlyLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The logs are append-only: nobody adds, changes or deletes through the admin."""

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return {}


class ActionFilter(admin.SimpleListFilter):
    """By action, named in the reader's language (the stored values are the API's contract)."""

    title = _("action")
    parameter_name = "action__exact"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return action_choices()

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        return queryset.filter(action=self.value()) if self.value() else queryset


class TableFilter(admin.SimpleListFilter):
    """By table, named as people know them; the choices come from the models, not a scan of the log."""

    title = _("table")
    parameter_name = "table_name__exact"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return audited_tables()

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        return queryset.filter(table_name=self.value()) if self.value() else queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyLogAdmin):
    list_display = ["id", "occurred_at", "action_display", "table_display", "record_link", "actor", "ip"]
    list_filter = [ActionFilter, TableFilter, ("occurred_at", admin.DateFieldListFilter)]
    search_fields = ["=record_id", "actor", "=table_name", "=action"]
    # No date_hierarchy: it scans the whole log for its dates on every page.
    show_full_result_count = False  # counting a million rows on every page is wasted work
    fields = [
        "id",
        "occurred_at",
        "action",
        "table_name",
        "record_id",
        "actor",
        "actor_user_id",
        "ip",
        "user_agent",
        "changes",
        "before",
        "after",
        "metadata",
        "checksum",
    ]
    readonly_fields = fields

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.has_perm("audit.view_auditentry"))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    @admin.display(description=_("action"), ordering="action")
    def action_display(self, obj: AuditEntry) -> str:
        return action_label(obj)

    @admin.display(description=_("table"), ordering="table_name")
    def table_display(self, obj: AuditEntry) -> str:
        return table_label(obj.table_name)

    @admin.display(description=_("record"), ordering="record_id")
    def record_link(self, obj: AuditEntry) -> str:
        return format_html("#{}", obj.record_id)

    @admin.display(description=_("changes"))
    def changes(self, obj: AuditEntry) -> SafeString:
        rows = history_rows([obj])
        return mark_safe(render_to_string("admin/audit/history_table.html", {"rows": rows, "compact": True}))  # noqa: S308 - escaped template


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyLogAdmin):
    list_display = ["id", "occurred_at", "kind", "email", "user_id", "ip"]
    list_filter = ["kind", ("occurred_at", admin.DateFieldListFilter)]
    search_fields = ["email", "=user_id", "=ip"]
    show_full_result_count = False
    fields = ["id", "occurred_at", "kind", "user_id", "email", "ip", "user_agent", "details"]
    readonly_fields = fields

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = request.user
        return bool(user.is_active and (user.is_owner or user.has_perm("audit.view_securityevent")))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def get_queryset(self, request: HttpRequest) -> QuerySet[SecurityEvent]:
        return selectors.security_event_list()
