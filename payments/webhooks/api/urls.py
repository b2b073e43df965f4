from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from payments.webhooks.api import views

router = SimpleRouter()
router.register("webhooks", views.WebhookEndpointViewSet, basename="webhook")
router.register("webhook-deliveries", views.WebhookDeliveryViewSet, basename="webhook-delivery")

urlpatterns: list[URLPattern | URLResolver] = [
    path("events/", views.EventFeedView.as_view(), name="event-feed"),
    *router.urls,
]
