"""The file store in the back office: a read-only list (content never loaded: the ORM selects
NULL for it), who uploaded what when, and a download link served by the same streaming
response as the API."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponseBase
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from acountee.admin_mixins import ReadOnlyAdminMixin, ServiceCallMixin
from acountee.search import FoldedSearchAdminMixin
from files import selectors
from files.http import stored_file_response
from files.models import StoredFile


@admin.register(StoredFile)
class StoredFileAdmin(ReadOnlyAdminMixin, FoldedSearchAdminMixin, ServiceCallMixin, admin.ModelAdmin):
    # Files are immutable evidence: nothing is added, changed or deleted from here (ReadOnlyAdminMixin).
    list_display = ["original_name", "content_type", "size_display", "created_by", "created_at", "download_link"]
    list_filter = ["content_type", "created_at"]
    search_fields = ["original_name", "sha256"]
    date_hierarchy = "created_at"
    list_select_related = ["created_by"]
    fields = ["original_name", "content_type", "size_display", "sha256", "created_by", "created_at", "download_link"]
    readonly_fields = fields
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[StoredFile]:
        return selectors.stored_file_list()

    @admin.display(description=_("size"), ordering="size")
    def size_display(self, obj: StoredFile) -> str:
        return filesizeformat(obj.size)

    @admin.display(description=_("download"))
    def download_link(self, obj: StoredFile) -> str:
        url = reverse("admin:files_storedfile_download", args=[obj.pk])
        label = _("Open") if obj.is_pdf or obj.is_image else _("Download")
        return format_html('<a href="{}">{}</a>', url, label)

    def get_urls(self) -> list[Any]:
        download = path(
            "<int:file_id>/download/",
            self.admin_site.admin_view(self.download_view),
            name="files_storedfile_download",
        )
        return [download, *super().get_urls()]

    def download_view(self, request: HttpRequest, file_id: int) -> HttpResponseBase:
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        file = selectors.stored_file_list().filter(pk=file_id).first()
        if file is None:
            raise Http404
        response = stored_file_response(request, file)
        if file.is_pdf:
            # The PR page previews attached PDFs in an <iframe> of this view: let our own pages frame it
            # (the rest of the site keeps X-Frame-Options DENY and frame-ancestors 'none').
            response["X-Frame-Options"] = "SAMEORIGIN"
            # Only frame-ancestors: Chromium's PDF viewer is a plugin, which object-src 'none' would block.
            response["Content-Security-Policy"] = "frame-ancestors 'self'"
        return response
