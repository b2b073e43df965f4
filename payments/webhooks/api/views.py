"""`/api/webhooks/` (owners: endpoints and their delivery log), `/api/webhook-deliveries/{id}/redeliver/`
(owners) and `/api/events/` (the events feed: owners and holders of `webhooks.view_event_feed`)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.permissions import IsOwner
from accounts.authentication import api_user
from acountee.api.pagination import PageNumberPagination
from acountee.api.params import present
from acountee.api.permissions import SignedInPermission
from acountee.api.secrets import secret_response
from acountee.api.sync import SyncFilterBackend
from acountee.api.viewsets import APIView, GenericViewSet, ModelViewSet
from acountee.errors import PermissionDeniedError
from payments.webhooks import selectors, services
from payments.webhooks.api.serializers import (
    EventPageSerializer,
    EventQuerySerializer,
    EventSerializer,
    SecretRotationSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointSerializer,
)
from payments.webhooks.models import WebhookDelivery, WebhookEndpoint

TAGS = ["webhooks"]


@extend_schema_view(
    list=extend_schema(tags=TAGS, summary="Webhook endpoints", responses=WebhookEndpointSerializer(many=True)),
    retrieve=extend_schema(tags=TAGS, summary="A webhook endpoint", responses=WebhookEndpointSerializer),
    create=extend_schema(
        tags=TAGS,
        summary="Add a webhook endpoint (the answer shows its signing secret, once)",
        request=WebhookEndpointSerializer,
        responses={201: WebhookEndpointCreatedSerializer},
    ),
    partial_update=extend_schema(
        tags=TAGS,
        summary="Change a webhook endpoint",
        request=WebhookEndpointSerializer,
        responses=WebhookEndpointSerializer,
    ),
    destroy=extend_schema(tags=TAGS, summary="Delete a webhook endpoint and its delivery log", responses={204: None}),
)
class WebhookEndpointViewSet(ModelViewSet):
    """Owners only (NOT_OWNER otherwise)."""

    permission_classes = [IsOwner]
    serializer_class = WebhookEndpointSerializer
    filter_backends: list[Any] = [SyncFilterBackend]
    updated_since_field = "updated_at"
    ordering_fields = ("id", "updated_at", "created_at")

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        return selectors.endpoint_list()

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = WebhookEndpointSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        endpoint = services.webhook_endpoint_create(
            actor=api_user(request),
            url=data["url"],
            event_types=data["event_types"],
            description=data.get("description", ""),
            is_active=data.get("is_active", True),
        )
        return secret_response(WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        endpoint = self.get_object()
        payload = WebhookEndpointSerializer(endpoint, data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_update(
            endpoint=endpoint, actor=api_user(request), **dict(payload.validated_data)
        )
        return Response(WebhookEndpointSerializer(endpoint).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.webhook_endpoint_delete(endpoint=self.get_object(), actor=api_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        tags=TAGS,
        summary="Rotate the signing secret (the answer shows the new one, once)",
        description="The previous secret keeps signing beside the new one (two `v1=` entries in "
        "`Acountee-Signature`) until `previous_secret_expires_at`, so receivers switch without refusing a webhook.",
        request=SecretRotationSerializer,
        responses={200: WebhookEndpointCreatedSerializer},
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        payload = SecretRotationSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_rotate_secret(
            endpoint=self.get_object(),
            actor=api_user(request),
            overlap_hours=payload.validated_data.get("overlap_hours"),
        )
        return secret_response(WebhookEndpointCreatedSerializer(endpoint).data)

    @extend_schema(
        tags=TAGS,
        summary="The endpoint's delivery log, newest first",
        responses=WebhookDeliverySerializer(many=True),
    )
    @action(detail=True, methods=["get"], pagination_class=PageNumberPagination)
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        endpoint = self.get_object()
        page = self.paginate_queryset(selectors.delivery_log(endpoint_id=endpoint.pk))
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)


@extend_schema_view(
    retrieve=extend_schema(tags=TAGS, summary="A webhook delivery", responses=WebhookDeliverySerializer),
)
class WebhookDeliveryViewSet(mixins.RetrieveModelMixin, GenericViewSet):
    """Owners only."""

    permission_classes = [IsOwner]
    serializer_class = WebhookDeliverySerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[WebhookDelivery]:
        return selectors.delivery_log()

    @extend_schema(
        tags=TAGS,
        request=None,
        responses={
            200: WebhookDeliverySerializer,
            409: OpenApiResponse(description="DELIVERY_PENDING: it is already waiting to be sent."),
        },
        summary="Send a delivered or failed webhook again",
    )
    @action(detail=True, methods=["post"])
    def redeliver(self, request: Request, pk: str | None = None) -> Response:
        delivery = services.webhook_delivery_redeliver(delivery=self.get_object(), actor=api_user(request))
        return Response(WebhookDeliverySerializer(selectors.delivery_log().get(pk=delivery.pk)).data)


class EventsForbidden(PermissionDeniedError):
    code = "EVENTS_FORBIDDEN"


class CanReadEvents(SignedInPermission):
    """Owners and holders of `webhooks.view_event_feed`: 403 EVENTS_FORBIDDEN otherwise."""

    def has_user_permission(self, request: Request, view: Any, user: Any) -> bool:
        if not selectors.can_read_events(user):
            from django.utils.translation import gettext as _

            raise EventsForbidden(_("The events feed needs the “read the events feed” permission."))
        return True


class EventFeedView(APIView):
    """The events feed: cursor-paged by event id, ascending (docs/webhooks.md)."""

    permission_classes = [CanReadEvents]

    @extend_schema(
        tags=TAGS,
        summary="Events after a cursor, oldest first",
        parameters=[EventQuerySerializer],
        responses={200: EventPageSerializer},
        description="Read from `after=0`, then pass the answer's `next` as `after`. Ids only grow and become "
        "visible in order, so a cursor never skips an event. The same documents the webhooks POST.",
    )
    def get(self, request: Request) -> Response:
        query = EventQuerySerializer(data=present(request.query_params))
        query.is_valid(raise_exception=True)
        after, limit = query.validated_data["after"], query.validated_data["limit"]
        types = sorted(query.validated_data.get("type") or [])
        rows = selectors.events_after(after=after, limit=limit + 1, types=types)
        has_more = len(rows) > limit
        rows = rows[:limit]
        return Response(
            {
                "results": EventSerializer(rows, many=True).data,
                "next": rows[-1].pk if rows else after,
                "has_more": has_more,
            }
        )
