from django.urls import URLPattern, URLResolver
from rest_framework.routers import SimpleRouter

from invoices.api.views import InvoiceViewSet

router = SimpleRouter()
router.register("invoices", InvoiceViewSet, basename="invoice")

urlpatterns: list[URLPattern | URLResolver] = [*router.urls]
