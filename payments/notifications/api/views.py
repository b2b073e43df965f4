"""`/api/notifications/` (every signed-in user, their own only) and
`/api/notification-deliveries/` (owners: the delivery log and retry)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.permissions import IsOwner
from accounts.authentication import api_user
from acountee.api.pagination import PageNumberPagination
from acountee.api.params import present
from acountee.api.permissions import IsAuthenticated
from acountee.api.sync import SYNC_PARAMETERS, SyncFilterBackend
from acountee.api.viewsets import GenericViewSet
from payments.notifications import selectors, services
from payments.notifications.api.serializers import (
    NotificationDeliverySerializer,
    NotificationPreferenceSerializer,
    NotificationSerializer,
    ReadAllInputSerializer,
    ReadAllResultSerializer,
    UnreadFilterSerializer,
)
from payments.notifications.models import DeliveryStatus, NotificationChannel, NotificationDelivery

TAGS = ["notifications"]


class NotificationPagination(PageNumberPagination):
    """The page plus the unread count (for the bell badge), in the document too."""

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        page = super().get_paginated_response_schema(schema)
        page["properties"]["unread_count"] = {"type": "integer", "example": 3}
        page["required"] = [*page.get("required", []), "unread_count"]
        return page


@extend_schema_view(
    list=extend_schema(
        tags=TAGS,
        responses=NotificationSerializer(many=True),
        parameters=[OpenApiParameter("unread", OpenApiTypes.BOOL, description="Only unread (true) or read (false).")],
    ),
)
class NotificationViewSet(mixins.ListModelMixin, GenericViewSet):
    permission_classes = [IsAuthenticated]
    pagination_class = NotificationPagination
    serializer_class = NotificationSerializer
    filter_backends: list[Any] = [SyncFilterBackend]  # `unread` is read by get_queryset
    updated_since_field = "updated_at"  # read and dismissed bump it
    ordering_fields = ("id", "updated_at", "created_at")

    def get_queryset(self) -> QuerySet[Any]:
        unread = None
        if self.action == "list":
            query = present(self.request.query_params).dict()
            params = UnreadFilterSerializer(data={k: v for k, v in query.items() if k not in SYNC_PARAMETERS})
            params.is_valid(raise_exception=True)
            unread = {"true": True, "false": False}.get(params.validated_data.get("unread", ""))
        return selectors.notification_inbox(user=api_user(self.request), unread=unread)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        response.data["unread_count"] = selectors.notification_unread_count(user=api_user(request))
        return response

    @extend_schema(tags=TAGS, request=None, responses=NotificationSerializer, summary="Mark read")
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str | None = None) -> Response:
        notification = services.notification_mark_read(notification_id=int(pk or 0), user=api_user(request))
        return Response(NotificationSerializer(notification).data)

    @extend_schema(tags=TAGS, request=None, responses=NotificationSerializer, summary="Dismiss from the inbox")
    @action(detail=True, methods=["post"])
    def dismiss(self, request: Request, pk: str | None = None) -> Response:
        notification = services.notification_dismiss(notification_id=int(pk or 0), user=api_user(request))
        return Response(NotificationSerializer(notification).data)

    @extend_schema(
        tags=TAGS,
        request=ReadAllInputSerializer,
        responses=ReadAllResultSerializer,
        summary="Mark all read (or all of one payment request: what a client does when it shows the request)",
    )
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request: Request) -> Response:
        payload = ReadAllInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        pr_id = payload.validated_data.get("pr")
        if pr_id is None:
            marked = services.notifications_mark_all_read(user=api_user(request))
        else:
            marked = services.notifications_mark_read_for_pr(user=api_user(request), pr_id=pr_id)
        unread_count = selectors.notification_unread_count(user=api_user(request))
        return Response({"marked_read": marked, "unread_count": unread_count})

    @extend_schema(
        tags=TAGS,
        methods=["GET"],
        request=None,
        responses=NotificationPreferenceSerializer,
        summary="My notification channels",
    )
    @extend_schema(
        tags=TAGS,
        methods=["PATCH"],
        request=NotificationPreferenceSerializer,
        responses=NotificationPreferenceSerializer,
        summary="Choose my notification channels",
    )
    @action(detail=False, methods=["get", "patch"])
    def preferences(self, request: Request) -> Response:
        if request.method == "PATCH":
            payload = NotificationPreferenceSerializer(data=request.data, partial=True)
            payload.is_valid(raise_exception=True)
            pref = services.notification_preference_update(user=api_user(request), **payload.validated_data)
        else:
            pref = selectors.notification_preference_get(user=api_user(request))
        return Response(NotificationPreferenceSerializer(pref).data)


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices)
    channel = django_filters.ChoiceFilter(choices=NotificationChannel.choices)
    recipient = django_filters.NumberFilter(field_name="notification__recipient_id")
    pr = django_filters.NumberFilter(field_name="notification__pr_id")

    class Meta:
        model = NotificationDelivery
        fields = ["status", "channel", "recipient", "pr"]


@extend_schema_view(
    list=extend_schema(tags=TAGS, responses=NotificationDeliverySerializer(many=True)),
    retrieve=extend_schema(tags=TAGS, responses=NotificationDeliverySerializer),
)
class NotificationDeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    """Owners only: what was sent, what failed and why."""

    permission_classes = [IsOwner]
    serializer_class = NotificationDeliverySerializer
    filterset_class = DeliveryFilter
    updated_since_field = "updated_at"
    ordering_fields = ("id", "updated_at", "created_at")

    def get_queryset(self) -> QuerySet[NotificationDelivery]:
        return selectors.delivery_log()

    @extend_schema(
        tags=TAGS, request=None, responses=NotificationDeliverySerializer, summary="Send a failed delivery again"
    )
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        delivery = services.delivery_retry(delivery=self.get_object(), actor=api_user(request))
        return Response(NotificationDeliverySerializer(selectors.delivery_log().get(pk=delivery.pk)).data)
