from django.urls import URLPattern, URLResolver
from rest_framework.routers import SimpleRouter

from payments.notifications.api import views

router = SimpleRouter()
router.register("notifications", views.NotificationViewSet, basename="notification")
router.register("notification-deliveries", views.NotificationDeliveryViewSet, basename="notification-delivery")

urlpatterns: list[URLPattern | URLResolver] = [*router.urls]
