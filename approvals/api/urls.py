from django.urls import URLPattern, URLResolver
from rest_framework.routers import SimpleRouter

from approvals.api import views

router = SimpleRouter()
router.register("approval-flows", views.ApprovalFlowViewSet, basename="approval-flow")
router.register("approval-delegations", views.ApprovalDelegationViewSet, basename="approval-delegation")

urlpatterns: list[URLPattern | URLResolver] = [*router.urls]
