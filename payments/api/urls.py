from django.urls import URLPattern, URLResolver, re_path
from rest_framework.routers import SimpleRouter

from acountee.api.viewsets import ID_PATTERN
from payments.api import requests, views

router = SimpleRouter()
router.register("payment-requests", requests.PaymentRequestViewSet, basename="payment-request")
router.register("payment-methods", views.PaymentMethodViewSet, basename="payment-method")

# The link endpoints live under /api/invoices/ (API.md) but belong to payments (the link table is ours).
urlpatterns: list[URLPattern | URLResolver] = [
    *router.urls,
    re_path(rf"^invoices/(?P<pk>{ID_PATTERN})/link/$", views.InvoiceLinkView.as_view(), name="invoice-link"),
    re_path(rf"^invoices/(?P<pk>{ID_PATTERN})/unlink/$", views.InvoiceUnlinkView.as_view(), name="invoice-unlink"),
    re_path(rf"^invoices/(?P<pk>{ID_PATTERN})/move/$", views.InvoiceMoveView.as_view(), name="invoice-move"),
]
