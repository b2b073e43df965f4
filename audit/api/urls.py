from django.urls import URLPattern, URLResolver
from rest_framework.routers import SimpleRouter

from audit.api import views

router = SimpleRouter()
router.register("audit/security-events", views.SecurityEventViewSet, basename="security-event")
router.register("audit", views.AuditEntryViewSet, basename="audit")

urlpatterns: list[URLPattern | URLResolver] = [*router.urls]
