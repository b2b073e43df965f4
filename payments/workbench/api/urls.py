from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from payments.workbench.api import views

router = SimpleRouter()
router.register("workbench/templates", views.ExportTemplateViewSet, basename="workbench-template")

urlpatterns: list[URLPattern | URLResolver] = [
    path("workbench/cleanup/", views.CleanupView.as_view(), name="workbench-cleanup"),
    path("workbench/export/", views.ExportView.as_view(), name="workbench-export"),
    path("workbench/import-paid/", views.ImportPaidView.as_view(), name="workbench-import-paid"),
    *router.urls,
]
