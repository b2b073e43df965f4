from django.urls import URLPattern, URLResolver
from rest_framework.routers import SimpleRouter

from payments.api import views

router = SimpleRouter()
router.register("payment-methods", views.PaymentMethodViewSet, basename="payment-method")

urlpatterns: list[URLPattern | URLResolver] = [*router.urls]
