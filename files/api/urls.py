from django.urls import URLPattern, URLResolver
from rest_framework.routers import SimpleRouter

from files.api import views

router = SimpleRouter()
router.register("files", views.StoredFileViewSet, basename="files")

urlpatterns: list[URLPattern | URLResolver] = [*router.urls]
