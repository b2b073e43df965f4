from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.api import views
from accounts.api.service_accounts import ServiceAccountViewSet

router = SimpleRouter()
router.register("users", views.UserViewSet, basename="user")
router.register("teams", views.TeamViewSet, basename="team")
router.register("roles", views.RoleViewSet, basename="role")
router.register("tokens", views.ApiTokenViewSet, basename="api-token")
router.register("service-accounts", ServiceAccountViewSet, basename="service-account")

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="auth-token"),
    path("me/", views.MeView.as_view(), name="me"),
    *router.urls,
]
