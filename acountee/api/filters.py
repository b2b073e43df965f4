"""Query filters that refuse what they cannot read (400) instead of silently not filtering."""

from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field


@extend_schema_field(OpenApiTypes.BOOL)
class BooleanFilter(django_filters.TypedChoiceFilter):
    """`true` or `false`. django-filter's BooleanFilter reads anything else (`null`, `yes`, `2`) as
    "no filter", so a typo returned every row; here it is a 400 like any other bad parameter."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("choices", [("true", "true"), ("false", "false")])
        kwargs.setdefault("coerce", lambda value: value == "true")
        super().__init__(*args, **kwargs)
