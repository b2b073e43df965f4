from __future__ import annotations

from typing import Any

import django_filters
from django.contrib.auth import authenticate
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from accounts import selectors, services
from accounts.api.permissions import IsOwner
from accounts.api.serializers import (
    ApiTokenSerializer,
    MeSerializer,
    RoleAssignSerializer,
    RoleSerializer,
    TeamSerializer,
    TokenRequestSerializer,
    TokenResponseSerializer,
    UserRoleSerializer,
    UserSerializer,
)
from accounts.authentication import api_user
from accounts.models import ApiToken, Role, Team, User
from accounts.requestguard import lockout
from accounts.security import record_security_event
from acountee.api.filters import BooleanFilter
from acountee.api.permissions import IsAuthenticated
from acountee.api.secrets import secret_response
from acountee.api.viewsets import ID_PATTERN, APIView, GenericViewSet, ModelViewSet
from acountee.errors import AuthenticationError, ValidationFailed
from acountee.search import SearchTextFilter

# Folded search (acountee.search): "nguyen van an" finds "Nguyễn Văn An".
USER_SEARCH_FIELDS = ("name", "email")
TEAM_SEARCH_FIELDS = ("name",)


class UserFilter(django_filters.FilterSet):
    q = SearchTextFilter(fields=USER_SEARCH_FIELDS)
    is_active = BooleanFilter()

    class Meta:
        model = User
        fields = ["is_active", "team", "q"]


class TeamFilter(django_filters.FilterSet):
    q = SearchTextFilter(fields=TEAM_SEARCH_FIELDS)

    class Meta:
        model = Team
        fields = ["q"]


class TokenView(APIView):
    """Exchange e-mail and password for an API token; DELETE revokes the token in use."""

    permission_classes = [AllowAny]
    serializer_class = TokenRequestSerializer

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: TokenResponseSerializer,
            429: OpenApiResponse(
                response={"$ref": "#/components/schemas/Error"},
                description="Too many failed sign-ins: locked out (TOO_MANY_ATTEMPTS, Retry-After).",
            ),
        },
        auth=[],  # signing in needs no credentials: generated clients call it without a token
        tags=["auth"],
        examples=[
            OpenApiExample(
                "Sign in", value={"email": "ketoan@acountee.local", "password": "••••••••"}, request_only=True
            ),
            OpenApiExample(
                "A new token: send it as `Authorization: Token <key>`",
                value={"token": "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"},
                response_only=True,
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        payload = TokenRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        email = payload.validated_data["email"]
        lockout.sign_in_check(email=email, request=request)  # 429 while locked, whatever the password
        user = authenticate(request, email=email, password=payload.validated_data["password"])
        if user is None:
            record_security_event("sign_in_failed", request=request, email=email, via="api_token")
            lockout.sign_in_failure_record(email=email, request=request, via="api_token")
            raise AuthenticationError(
                _("E-mail or password is wrong, or the account is inactive."), code="INVALID_CREDENTIALS"
            )
        lockout.sign_in_success_record(email=email)
        _token, key = services.api_token_create(user=user, request=request)
        return secret_response({"token": key})

    @extend_schema(request=None, responses={204: None}, tags=["auth"])
    def delete(self, request: Request) -> Response:
        if not request.user.is_authenticated:
            raise AuthenticationError(_("Authentication credentials were not provided."), code="NOT_AUTHENTICATED")
        if not isinstance(request.auth, ApiToken):
            raise ValidationFailed(_("Only a request made with a token can revoke it."), code="NO_TOKEN")
        services.api_token_revoke(token=request.auth, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        summary="The caller's own API tokens",
        description="Id, prefix (the key's first 8 characters), creation and last use; never a key. "
        "Only the signed-in user's tokens, whatever their roles.",
        tags=["auth"],
    ),
    destroy=extend_schema(
        summary="Revoke one of the caller's own API tokens",
        description="Someone else's token id answers 404 like a missing one. Revoking the token the "
        "request is made with signs this client out.",
        responses={204: OpenApiResponse(description="Token revoked")},
        tags=["auth"],
    ),
)
class ApiTokenViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, GenericViewSet):
    """A user's own API tokens: list them and revoke one (e.g. a lost laptop's) without signing in
    with it. Revocation goes through accounts.services (a `token_revoked` security event)."""

    permission_classes = [IsAuthenticated]
    serializer_class = ApiTokenSerializer
    queryset = ApiToken.objects.none()  # for the schema; get_queryset is what runs
    # A token does not change once issued (revoking deletes it): its creation time is its last change.
    updated_since_field = "created_at"
    ordering_fields = ("id", "created_at")

    def get_queryset(self) -> QuerySet[ApiToken]:
        return selectors.api_token_list(user=api_user(self.request))

    def get_serializer_context(self) -> dict[str, Any]:
        auth = getattr(self.request, "auth", None)
        return {**super().get_serializer_context(), "current_token": auth if isinstance(auth, ApiToken) else None}

    def perform_destroy(self, instance: ApiToken) -> None:
        services.api_token_revoke(token=instance, request=self.request)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MeSerializer, tags=["auth"])
    def get(self, request: Request) -> Response:
        user = selectors.user_list().get(pk=api_user(request).pk)
        return Response(MeSerializer(user).data)


@extend_schema(tags=["accounts"])
class UserViewSet(ModelViewSet):
    """Owner-only user administration. DELETE deactivates: history stays with the user."""

    permission_classes = [IsOwner]
    serializer_class = UserSerializer
    filterset_class = UserFilter
    updated_since_field = "updated_at"
    ordering_fields = ("id", "updated_at", "created_at", "email")

    def get_queryset(self) -> QuerySet[User]:
        return selectors.user_list()

    def perform_create(self, serializer: BaseSerializer[User]) -> None:
        data = serializer.validated_data
        serializer.instance = services.user_create(actor=api_user(self.request), **data)

    def perform_update(self, serializer: BaseSerializer[User]) -> None:
        assert serializer.instance is not None  # an update always has its object (narrows the type)
        serializer.instance = services.user_update(
            user=serializer.instance, actor=api_user(self.request), **serializer.validated_data
        )

    @extend_schema(responses={204: OpenApiResponse(description="User deactivated")})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.user_deactivate(user=self.get_object(), actor=api_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=RoleAssignSerializer, responses={201: UserRoleSerializer})
    @action(detail=True, methods=["post"], url_path="roles")
    def assign_role(self, request: Request, pk: str | None = None) -> Response:
        user = self.get_object()
        payload = RoleAssignSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        assignment = services.role_assign(user=user, actor=api_user(request), **payload.validated_data)
        return Response(UserRoleSerializer(assignment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=rf"roles/(?P<role_id>{ID_PATTERN})")
    def revoke_role(self, request: Request, pk: str | None = None, role_id: str | None = None) -> Response:
        user = self.get_object()
        role = get_object_or_404(Role, pk=role_id)
        services.role_revoke(user=user, role=role, actor=api_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["accounts"])
class TeamViewSet(ModelViewSet):
    permission_classes = [IsOwner]
    serializer_class = TeamSerializer
    filterset_class = TeamFilter
    updated_since_field = "updated_at"
    ordering_fields = ("id", "updated_at", "created_at", "name")

    def get_queryset(self) -> QuerySet[Team]:
        return selectors.team_list()

    def perform_create(self, serializer: BaseSerializer[Team]) -> None:
        team = services.team_create(actor=api_user(self.request), **serializer.validated_data)
        serializer.instance = selectors.team_list().get(pk=team.pk)

    def perform_update(self, serializer: BaseSerializer[Team]) -> None:
        assert serializer.instance is not None  # an update always has its object (narrows the type)
        team = services.team_update(team=serializer.instance, actor=api_user(self.request), **serializer.validated_data)
        serializer.instance = selectors.team_list().get(pk=team.pk)

    def perform_destroy(self, instance: Team) -> None:
        services.team_delete(team=instance, actor=api_user(self.request))


@extend_schema(tags=["accounts"])
class RoleViewSet(ModelViewSet):
    permission_classes = [IsOwner]
    serializer_class = RoleSerializer
    updated_since_field = "updated_at"
    ordering_fields = ("id", "updated_at", "created_at", "name")

    def get_queryset(self) -> QuerySet[Role]:
        return selectors.role_list()

    def perform_create(self, serializer: BaseSerializer[Role]) -> None:
        role = services.role_create(actor=api_user(self.request), **serializer.validated_data)
        serializer.instance = selectors.role_list().get(pk=role.pk)

    def perform_update(self, serializer: BaseSerializer[Role]) -> None:
        assert serializer.instance is not None  # an update always has its object (narrows the type)
        role = services.role_update(role=serializer.instance, actor=api_user(self.request), **serializer.validated_data)
        serializer.instance = selectors.role_list().get(pk=role.pk)

    def perform_destroy(self, instance: Role) -> None:
        services.role_delete(role=instance, actor=api_user(self.request))
