"""Query filters that refuse what they cannot read (400) instead of silently not filtering."""

from __future__ import annotations

from typing import Any

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from acountee.api.params import present


@extend_schema_field(OpenApiTypes.BOOL)
class BooleanFilter(django_filters.TypedChoiceFilter):
    """`true` or `false`. django-filter's BooleanFilter reads anything else (`null`, `yes`, `2`) as
    "no filter", so a typo returned every row; here it is a 400 like any other bad parameter."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("choices", [("true", "true"), ("false", "false")])
        kwargs.setdefault("coerce", lambda value: value == "true")
        super().__init__(*args, **kwargs)


class FilterBackend(DjangoFilterBackend):
    """django-filter over the query without its empty parameters (acountee.api.params.present):
    `?status=` is no filter on every list, the multiple-choice ones included (they said 400)."""

    def get_filterset_kwargs(self, request: Any, queryset: Any, view: Any) -> dict[str, Any]:
        kwargs: dict[str, Any] = super().get_filterset_kwargs(request, queryset, view)
        kwargs["data"] = present(request.query_params)
        return kwargs
