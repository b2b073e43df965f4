"""Reads for accounts: list querysets that the API and admin share, with their joins."""

from __future__ import annotations

from django.db.models import Count, Prefetch, QuerySet

from accounts.models import ApiToken, Role, Team, User, UserRole


def user_list() -> QuerySet[User]:
    return User.objects.select_related("team").prefetch_related(
        Prefetch("user_roles", queryset=UserRole.objects.select_related("role").order_by("role__name"))
    )


def team_list() -> QuerySet[Team]:
    # Explicit: with the GROUP BY of the count, Meta.ordering no longer applies (unstable pages).
    return Team.objects.annotate(member_count=Count("members")).order_by("name", "id")


def role_list() -> QuerySet[Role]:
    return Role.objects.select_related("parent").prefetch_related("permissions__content_type")


def api_token_list(*, user: User) -> QuerySet[ApiToken]:
    """Only `user`'s own tokens, newest first: nobody lists (or revokes) another user's token here,
    and another user's token id is simply not found."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")
