"""`/api/service-accounts/`: owners make, list and retire API-only principals for integrations
(docs/security.md, "Service accounts"). The token's key is in the create answer only."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import services
from accounts.api.permissions import IsOwner
from accounts.authentication import api_user
from accounts.models import ApiToken, Role, TokenScope, User
from acountee.api.fields import DateTimeField
from acountee.api.secrets import secret_response
from acountee.api.serializers import StrictSerializer
from acountee.api.viewsets import GenericViewSet


class ServiceAccountTokenSerializer(serializers.Serializer):
    prefix = serializers.CharField(help_text="The key's first 8 characters.")
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=TokenScope.choices))
    expires_at = DateTimeField(allow_null=True)
    last_used_at = DateTimeField(allow_null=True, help_text="To within 10 minutes; null if never used.")


class ServiceAccountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    is_active = serializers.BooleanField()
    created_at = DateTimeField()
    tokens = ServiceAccountTokenSerializer(many=True, source="api_tokens.all")


class ServiceAccountCreatedSerializer(ServiceAccountSerializer):
    token = serializers.CharField(
        help_text="The token's key: shown in this answer only. Send `Authorization: Token <key>`."
    )


class ServiceAccountInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=150)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=TokenScope.choices),
        min_length=1,
        max_length=len(TokenScope.choices),
        help_text="read: every GET; import: POST /api/invoices/import/; export: the exports and reports. Never "
        "an approval, a payment or any administration.",
    )
    expires_at = DateTimeField(required=False, allow_null=True, default=None)
    roles = serializers.ListField(
        child=serializers.SlugRelatedField(slug_field="name", queryset=Role.objects.all()),
        required=False,
        default=list,
        max_length=20,
        help_text="Roles by name: the account's permissions, as a person's; the scopes narrow them.",
    )


@extend_schema_view(
    list=extend_schema(tags=["accounts"], responses=ServiceAccountSerializer(many=True)),
    create=extend_schema(
        tags=["accounts"], request=ServiceAccountInputSerializer, responses={201: ServiceAccountCreatedSerializer}
    ),
    destroy=extend_schema(tags=["accounts"], summary="Retire: deactivates the account and revokes its tokens"),
)
class ServiceAccountViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, GenericViewSet):
    permission_classes = [IsOwner]
    serializer_class = ServiceAccountSerializer
    queryset = User.objects.none()  # for the schema; get_queryset is what runs
    updated_since_field = "updated_at"
    ordering_fields = ("id", "updated_at", "created_at")

    def get_queryset(self) -> QuerySet[User]:
        return (
            User.objects.filter(is_service_account=True)
            .prefetch_related(Prefetch("api_tokens", queryset=ApiToken.objects.order_by("-id")))
            .order_by("-id")
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = ServiceAccountInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        user, key = services.service_account_create(
            name=data["name"],
            scopes=data["scopes"],
            expires_at=data["expires_at"],
            roles=[role.name for role in data["roles"]],
            actor=api_user(request),
            request=request,
        )
        fresh = self.get_queryset().get(pk=user.pk)
        body = {**ServiceAccountSerializer(fresh).data, "token": key}
        return secret_response(body, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: User) -> None:
        services.user_deactivate(user=instance, actor=api_user(self.request))
