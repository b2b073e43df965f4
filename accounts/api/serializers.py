from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from accounts.models import ApiToken, Role, Team, TeamCapability, User, UserRole
from acountee.api.fields import DateTimeField
from acountee.api.serializers import StrictModelSerializer, StrictSerializer


class TokenRequestSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=256, trim_whitespace=False)


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()


class ApiTokenSerializer(serializers.ModelSerializer):
    """One of the caller's tokens: never the key (it exists only in the sign-in answer) nor its hash."""

    prefix = serializers.CharField(read_only=True, help_text="The key's first 8 characters, to tell tokens apart.")
    created_at = DateTimeField(read_only=True)
    last_used_at = DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="Last request made with it (to within 10 minutes); null if never used.",
    )
    is_current = serializers.SerializerMethodField(help_text="True for the token this request is made with.")

    class Meta:
        model = ApiToken
        fields = ["id", "prefix", "created_at", "last_used_at", "is_current"]
        read_only_fields = fields

    def get_is_current(self, token: ApiToken) -> bool:
        current = self.context.get("current_token")
        return current is not None and current.pk == token.pk


class UserRoleSerializer(serializers.ModelSerializer):
    role_name = serializers.CharField(source="role.name", read_only=True)
    is_expired = serializers.BooleanField(read_only=True)

    class Meta:
        model = UserRole
        fields = ["id", "role", "role_name", "assigned_by", "assigned_at", "expires_at", "is_expired"]
        read_only_fields = fields


class RoleAssignSerializer(StrictSerializer):
    role = serializers.PrimaryKeyRelatedField(queryset=Role.objects.all())
    expires_at = DateTimeField(required=False, allow_null=True)


class UserSerializer(StrictModelSerializer):
    roles = UserRoleSerializer(source="user_roles", many=True, read_only=True)
    password = serializers.CharField(
        write_only=True, required=False, max_length=256, trim_whitespace=False, style={"input_type": "password"}
    )
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), allow_null=True, required=False)

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "name",
            "team",
            "is_active",
            "language",
            "roles",
            "password",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "roles", "created_at", "updated_at"]
        # Uniqueness is case-insensitive and checked by the service (DUPLICATE_EMAIL).
        extra_kwargs: dict[str, dict[str, Any]] = {"email": {"validators": []}}

    def validate_password(self, value: str) -> str:
        try:
            validate_password(value, user=self.instance)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(list(exc.messages)) from None
        return value


class MeSerializer(serializers.ModelSerializer):
    roles = UserRoleSerializer(source="user_roles", many=True, read_only=True)
    # Declared so the schema allows "" (no choice: the browser's language applies).
    language = serializers.ChoiceField(choices=settings.LANGUAGES, allow_blank=True, read_only=True)
    is_owner = serializers.BooleanField(read_only=True)
    permissions = serializers.SerializerMethodField()
    capabilities = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "name",
            "team",
            "is_active",
            "language",
            "is_owner",
            "roles",
            "permissions",
            "capabilities",
        ]
        read_only_fields = fields

    def get_permissions(self, user: User) -> list[str]:
        return sorted(user.get_all_permissions())

    def get_capabilities(self, user: User) -> list[str]:
        return sorted(user.team.capabilities) if user.team_id and user.team else []


class TeamSerializer(StrictModelSerializer):
    capabilities = serializers.ListField(
        child=serializers.ChoiceField(choices=TeamCapability.choices),
        required=False,
        max_length=20,
    )
    member_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Team
        fields = ["id", "name", "description", "capabilities", "member_count", "created_at", "updated_at"]
        read_only_fields = ["id", "member_count", "created_at", "updated_at"]
        extra_kwargs: dict[str, dict[str, Any]] = {"name": {"validators": []}}


class PermissionNamesField(serializers.ListField):
    """Permissions as `app_label.codename` strings, both ways."""

    def to_representation(self, data: Any) -> list[str]:
        return sorted(f"{p.content_type.app_label}.{p.codename}" for p in data.all())


class RoleSerializer(StrictModelSerializer):
    permissions = PermissionNamesField(
        child=serializers.CharField(max_length=200),
        required=False,
        max_length=1000,
        help_text="Permission names as `app_label.codename`.",
    )
    parent = serializers.PrimaryKeyRelatedField(  # type: ignore[assignment]  # shadows Field.parent
        queryset=Role.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = Role
        fields = ["id", "name", "description", "parent", "permissions", "is_builtin", "created_at", "updated_at"]
        read_only_fields = ["id", "is_builtin", "created_at", "updated_at"]
        extra_kwargs: dict[str, dict[str, Any]] = {"name": {"validators": []}}
