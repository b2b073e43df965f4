"""`/api/approval-flows/` (owners) and `/api/approval-delegations/`: the approval engine's API. Views
validate input and call `approvals.services`; who may do what is decided there."""

from __future__ import annotations

from typing import Any, cast

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.serializers import BaseSerializer

from accounts.api.permissions import IsOwner
from accounts.authentication import api_user
from acountee.api.filters import BooleanFilter
from acountee.api.permissions import ModelPermissions, SignedInPermission
from acountee.api.viewsets import ModelViewSet
from acountee.search import SearchTextFilter
from approvals import selectors, services
from approvals.api.serializers import (
    ApprovalDelegationSerializer,
    ApprovalFlowSerializer,
)
from approvals.models import ApprovalDelegation, ApprovalFlow


class ApprovalFlowFilter(django_filters.FilterSet):
    q = SearchTextFilter(fields=("name",))
    is_active = BooleanFilter()

    class Meta:
        model = ApprovalFlow
        fields = ["is_active", "q"]


class FlowPermission(SignedInPermission):
    """Finance reads flows to choose one (model permission); only owners change them."""

    def has_user_permission(self, request: Request, view: Any, user: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return ModelPermissions().has_permission(request, view)
        return IsOwner().has_permission(request, view)


@extend_schema(tags=["approval flows"])
class ApprovalFlowViewSet(ModelViewSet):
    permission_classes = [FlowPermission]
    serializer_class = ApprovalFlowSerializer
    filterset_class = ApprovalFlowFilter
    updated_since_field = "updated_at"
    ordering_fields = ("id", "updated_at", "created_at", "name")

    def get_queryset(self) -> QuerySet[ApprovalFlow]:
        return selectors.flow_list()

    def _steps(self, data: dict[str, Any]) -> list[services.StepSpec] | None:
        steps = data.pop("steps", None)
        return None if steps is None else [cast(services.StepSpec, dict(s)) for s in steps]

    def perform_create(self, serializer: BaseSerializer[ApprovalFlow]) -> None:
        data = dict(serializer.validated_data)
        flow = services.approval_flow_create(actor=api_user(self.request), steps=self._steps(data) or [], **data)
        serializer.instance = selectors.flow_list().get(pk=flow.pk)

    def perform_update(self, serializer: BaseSerializer[ApprovalFlow]) -> None:
        assert serializer.instance is not None  # an update always has its object (narrows the type)
        data = dict(serializer.validated_data)
        flow = services.approval_flow_update(
            flow=serializer.instance, actor=api_user(self.request), steps=self._steps(data), **data
        )
        serializer.instance = selectors.flow_list().get(pk=flow.pk)

    def perform_destroy(self, instance: ApprovalFlow) -> None:
        services.approval_flow_delete(flow=instance, actor=api_user(self.request))


@extend_schema(tags=["approval flows"])
class ApprovalDelegationViewSet(ModelViewSet):
    """My delegations (given or received); owners see all."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = ApprovalDelegationSerializer
    http_method_names = ["get", "post", "delete", "head", "options"]
    # A delegation is never edited (delete and create again): its creation time is its last change.
    updated_since_field = "created_at"
    ordering_fields = ("id", "created_at", "start_date")

    def get_queryset(self) -> QuerySet[ApprovalDelegation]:
        return selectors.delegation_list(user=api_user(self.request))

    def perform_create(self, serializer: BaseSerializer[ApprovalDelegation]) -> None:
        data = dict(serializer.validated_data)
        approver = data.pop("approver", None) or api_user(self.request)
        serializer.instance = services.approval_delegation_create(
            actor=api_user(self.request), approver=approver, **data
        )

    def perform_destroy(self, instance: ApprovalDelegation) -> None:
        services.approval_delegation_delete(delegation=instance, actor=api_user(self.request))
