from functools import partial
from typing import Any, cast

from django.conf import settings
from django.core.paginator import InvalidPage
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.request import Request

from acountee.db.counts import EstimatingPaginator
from acountee.errors import ValidationFailed

# Query parameters that only choose a page of the list: without any other, the list is unfiltered.
NOT_FILTERS = {"page", "page_size", "format"}


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=` and `?page_size=` on every list, the same way: a page size above API_MAX_PAGE_SIZE is
    clamped to it; one that is not a whole number ≥ 1 is a 400 (DRF would silently use the default);
    a page that is not a number or beyond the last is a 404.

    `count` is exact whenever the request filters the list; an unfiltered list of at least
    ESTIMATED_COUNT_FROM rows reports the planner's estimate instead (acountee/db/counts.py), and every page
    says which with `count_is_estimate`."""

    page_size_query_param = "page_size"
    max_page_size = settings.API_MAX_PAGE_SIZE
    django_paginator_class = EstimatingPaginator

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any] | None:
        self.django_paginator_class = self.paginator_for(request)
        return super().paginate_queryset(queryset, request, view)

    @staticmethod
    def paginator_for(request: Request) -> Any:
        filtered = any(value != "" for name, value in request.query_params.items() if name not in NOT_FILTERS)
        return partial(EstimatingPaginator, estimate=not filtered)

    def get_paginated_response(self, data: Any) -> Any:
        response = super().get_paginated_response(data)
        page = self.page
        estimate = bool(page is not None and getattr(page.paginator, "count_is_estimate", False))
        items = list(response.data.items())
        response.data = dict([items[0], ("count_is_estimate", estimate), *items[1:]])
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        document = super().get_paginated_response_schema(schema)
        document["properties"]["count"]["description"] = (
            "Rows in the list; the planner's estimate when `count_is_estimate` is true."
        )
        document["properties"] = {
            "count": document["properties"]["count"],
            "count_is_estimate": {
                "type": "boolean",
                "example": False,
                "description": "True when the list is unfiltered and so large that `count` is PostgreSQL's "
                "estimate (pages and links follow it); any filter makes the count exact.",
            },
            **{k: v for k, v in document["properties"].items() if k != "count"},
        }
        document["required"] = [*document.get("required", []), "count_is_estimate"]
        return document

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param, "")
        if raw == "":
            return self.page_size  # type: ignore[return-value]  # REST_FRAMEWORK["PAGE_SIZE"] is always set
        if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
            raise ValidationFailed(details={self.page_size_query_param: [_("Give a whole number from 1.")]})
        return min(int(raw), self.max_page_size)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}  # 0 or less: no such page (404)
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = f"Results per page, 1-{self.max_page_size} (larger values are clamped)."
                parameter["schema"] = {"type": "integer", "minimum": 1}
        return parameters


def page_parameters() -> list[OpenApiParameter]:
    """`page` and `page_size` as the paginator declares them, for a view that paginates in its own handler (the
    document adds them by itself only to list actions)."""
    return [
        OpenApiParameter(p["name"], p["schema"], description=p["description"])
        for p in PageNumberPagination().get_schema_operation_parameters(view=None)
    ]


class LazyPageNumberPagination(PageNumberPagination):
    """Same page numbers, count and links, but `paginate_queryset` hands back the page as a
    lazy sliced queryset (LIMIT/OFFSET) instead of a list: a view can use it as a subquery
    (`pk__in=page`) and read the page's rows in the same statement as its ids."""

    # A lazy queryset where DRF's contract says list (on purpose, see above): only views that pick this class use it.
    def paginate_queryset(  # type: ignore[override]
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> QuerySet[Any]:
        self.request = request
        paginator = self.paginator_for(request)(queryset, self.get_page_size(request))
        page_number = self.get_page_number(request, paginator)
        try:
            self.page = paginator.page(page_number)
        except InvalidPage as exc:
            raise NotFound(self.invalid_page_message.format(page_number=page_number, message=str(exc))) from exc
        return cast("QuerySet[Any]", self.page.object_list)  # the page of a queryset is a sliced queryset
