from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularSwaggerSplitView

from acountee import health, views
from acountee.api.schema_view import SchemaView

api_patterns: list[URLPattern | URLResolver] = [
    path("", include("accounts.api.urls")),
    path("", include("files.api.urls")),
    path("", include("audit.api.urls")),
    path("", include("invoices.api.urls")),
    path("", include("payments.api.urls")),
    path("", include("approvals.api.urls")),
    path("", include("payments.notifications.api.urls")),
    path("", include("payments.webhooks.api.urls")),
    path("", include("payments.workbench.api.urls")),
    path("", include("payments.reports.api.urls")),
    # `?format=json|yaml` picks the document's encoding (the only other place `format` is honoured: reports).
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    re_path(r"^(?P<path>.*)$", views.api_not_found),  # last: JSON 404s, no slash redirects (acountee/views.py)
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # The admin pages accounts replaces (the own password change) come before the admin's own.
    path("admin/", include("accounts.admin_urls")),
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    # Server-Sent Events and what the pages re-read on them (docs/live.md); streamed by the ASGI app.
    path("live/", include("payments.live.urls")),
]

handler404 = "acountee.views.page_not_found"
handler500 = "acountee.views.server_error"
