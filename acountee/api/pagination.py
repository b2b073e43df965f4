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
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from acountee.api import sync
from acountee.db.counts import EstimatingPaginator, estimated_count
from acountee.errors import ValidationFailed

# Query parameters that only choose a page, its order or its paging: without any other, the list is unfiltered.
NOT_FILTERS = {"page", "page_size", "format", sync.ORDERING, sync.CURSOR, sync.PAGINATION}


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=` and `?page_size=` on every list, the same way: a page size above API_MAX_PAGE_SIZE is
    clamped to it; one that is not a whole number ≥ 1 is a 400 (DRF would silently use the default);
    a page that is not a number or beyond the last is a 404.

    Or cursor paging, on the lists that declare it (acountee.api.sync): `?pagination=cursor` for the first page,
    then `?cursor=` (the `next_cursor` of the previous page, or follow `next`). One response shape either way:
    `count` (all rows the filters match), `count_is_estimate`, `next`, `previous` (null in cursor mode: forward
    only), `next_cursor` (null in page mode and on the last page) and `results`.

    `count` is exact whenever the request filters the list; an unfiltered list of at least ESTIMATED_COUNT_FROM
    rows reports the planner's estimate instead (acountee/db/counts.py), and every page says which with
    `count_is_estimate`."""

    page_size_query_param = "page_size"
    max_page_size = settings.API_MAX_PAGE_SIZE
    django_paginator_class = EstimatingPaginator
    cursor_mode = False
    next_cursor: str | None = None
    count_is_estimate = False

    view: Any = None

    def may_estimate(self, request: Request) -> bool:
        """Only lists over tables that grow without bound opt in (`estimated_count = True` on the view: invoices,
        payment requests, the audit log), and only unfiltered: elsewhere an exact count costs less than asking."""
        if not getattr(self.view, "estimated_count", False):
            return False
        return not any(value != "" for name, value in request.query_params.items() if name not in NOT_FILTERS)

    def paginator_for(self, request: Request) -> Any:
        return partial(EstimatingPaginator, estimate=self.may_estimate(request))

    def list_count(self, queryset: QuerySet[Any], request: Request) -> int:
        """The cursor mode's count, estimated on the same terms as the page mode's (EstimatingPaginator)."""
        if self.may_estimate(request):
            guess = estimated_count(queryset)
            if guess >= settings.ESTIMATED_COUNT_FROM:
                self.count_is_estimate = True
                return guess
        return queryset.count()

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param, "")
        if raw == "":
            return self.page_size  # type: ignore[return-value]  # REST_FRAMEWORK["PAGE_SIZE"] is always set
        if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
            raise ValidationFailed(details={self.page_size_query_param: [_("Give a whole number from 1.")]})
        return min(int(raw), self.max_page_size)

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        sync.check_pagination_switch(request)
        self.view = view
        if not sync.cursor_mode(request):
            self.django_paginator_class = self.paginator_for(request)
            return super().paginate_queryset(queryset, request, view)
        return self.cursor_page(queryset, request)

    # --- cursor mode -------------------------------------------------------------------------------------------
    def cursor_page(self, queryset: QuerySet[Any], request: Request) -> list[Any]:
        """The page after the cursor in keyset order: count plus one query (LIMIT page size + 1)."""
        if request.query_params.get(self.page_query_param):
            raise ValidationFailed(
                details={self.page_query_param: [_("Page numbers and cursors do not mix: use one or the other.")]}
            )
        self.request = request
        self.cursor_mode = True
        keys = sync.request_ordering(request)
        if keys is None:  # a list without the sync filter: by id
            keys = sync.default_cursor_ordering(None)
            queryset = queryset.order_by(*(key.expression() for key in keys))
        self.keys = keys
        sync.check_cursor_ordering(queryset.model, keys)  # a field that may be empty cannot hold a cursor
        self.count = self.list_count(queryset, request)
        token = request.query_params.get(sync.CURSOR, "")
        if token:
            queryset = queryset.filter(sync.after(keys, sync.decode_cursor(token, queryset.model, keys)))
        size = self.get_page_size(request)
        rows = self.fetch(queryset, size + 1)
        self.next_cursor = None
        if len(rows) > size:
            rows = rows[:size]
            self.next_cursor = sync.encode_cursor(keys, self.last_values(rows[-1], queryset))
        return [self.result(row) for row in rows]

    def fetch(self, queryset: QuerySet[Any], limit: int) -> list[Any]:
        return list(queryset[:limit])

    def last_values(self, row: Any, queryset: QuerySet[Any]) -> list[Any]:
        return sync.row_values(row, queryset.model, self.keys)

    def result(self, row: Any) -> Any:
        return row

    def get_next_link(self) -> str | None:
        if not self.cursor_mode:
            return super().get_next_link()
        if self.next_cursor is None:
            return None
        assert self.request is not None  # set by cursor_page
        url = remove_query_param(self.request.build_absolute_uri(), sync.PAGINATION)
        return replace_query_param(url, sync.CURSOR, self.next_cursor)

    def get_paginated_response(self, data: Any) -> Response:
        if not self.cursor_mode:
            assert self.page is not None  # set by paginate_queryset
            return Response(
                {
                    "count": self.page.paginator.count,
                    "count_is_estimate": bool(getattr(self.page.paginator, "count_is_estimate", False)),
                    "next": self.get_next_link(),
                    "previous": self.get_previous_link(),
                    "next_cursor": None,
                    "results": data,
                }
            )
        return Response(
            {
                "count": self.count,
                "count_is_estimate": self.count_is_estimate,
                "next": self.get_next_link(),
                "previous": None,
                "next_cursor": self.next_cursor,
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        page: dict[str, Any] = super().get_paginated_response_schema(schema)
        page["properties"]["count"]["description"] = (
            "Rows in the list; the planner's estimate when `count_is_estimate` is true."
        )
        page["properties"] = {
            "count": page["properties"]["count"],
            "count_is_estimate": {
                "type": "boolean",
                "example": False,
                "description": "True when the list is unfiltered and so large that `count` is PostgreSQL's "
                "estimate (pages and links follow it); any filter makes the count exact.",
            },
            **{name: value for name, value in page["properties"].items() if name not in ("count", "results")},
            "next_cursor": {
                "type": "string",
                "nullable": True,
                "description": "Cursor paging (`pagination=cursor`): pass as `cursor` for the next page; null on "
                "the last page and in page-number paging.",
                "example": None,
            },
            "results": page["properties"]["results"],
        }
        page["required"] = ["count", "count_is_estimate", "next", "previous", "next_cursor", "results"]
        return page

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}  # 0 or less: no such page (404)
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = f"Results per page, 1-{self.max_page_size} (larger values are clamped)."
                parameter["schema"] = {"type": "integer", "minimum": 1}
        if view is not None and getattr(view, "action", None) == "list":
            parameters += [
                {
                    "name": sync.PAGINATION,
                    "in": "query",
                    "required": False,
                    "description": "`cursor` for cursor paging (keyset, forward only, stable while rows change); "
                    "page numbers otherwise.",
                    "schema": {"type": "string", "enum": ["page", "cursor"]},
                },
                {
                    "name": sync.CURSOR,
                    "in": "query",
                    "required": False,
                    "description": "The `next_cursor` of the previous page (implies `pagination=cursor`); an opaque "
                    "token: one the server did not give for this list and ordering is a 400 INVALID_CURSOR.",
                    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
                },
            ]
        return parameters


def page_parameters() -> list[OpenApiParameter]:
    """`page` and `page_size` as the paginator declares them, for a view that paginates in its own handler (the
    document adds them by itself only to list actions)."""
    return [
        OpenApiParameter(p["name"], p["schema"], description=p["description"])
        for p in PageNumberPagination().get_schema_operation_parameters(view=None)
        if p["name"] in ("page", "page_size")
    ]


class LazyPageNumberPagination(PageNumberPagination):
    """Same page numbers, count and links, but `paginate_queryset` hands back the page as a
    lazy sliced queryset (LIMIT/OFFSET) instead of a list: a view can use it as a subquery
    (`pk__in=page`) and read the page's rows in the same statement as its ids."""

    # A lazy queryset where DRF's contract says list (on purpose, see above): only views that pick this class use it.
    def paginate_queryset(  # type: ignore[override]
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> QuerySet[Any] | list[Any]:
        sync.check_pagination_switch(request)
        self.view = view
        if sync.cursor_mode(request):  # a list of ids (the page's keys are read in one query)
            return self.cursor_page(queryset, request)
        self.request = request
        paginator = self.paginator_for(request)(queryset, self.get_page_size(request))
        page_number = self.get_page_number(request, paginator)
        try:
            self.page = paginator.page(page_number)
        except InvalidPage as exc:
            raise NotFound(self.invalid_page_message.format(page_number=page_number, message=str(exc))) from exc
        return cast("QuerySet[Any]", self.page.object_list)  # the page of a queryset is a sliced queryset

    def fetch(self, queryset: QuerySet[Any], limit: int) -> list[Any]:
        # `queryset` is the list's ids: read the ordering values beside them, the id last.
        return list(queryset.values_list(*(key.name for key in self.keys), "pk")[:limit])

    def result(self, row: Any) -> Any:
        return row[-1]
