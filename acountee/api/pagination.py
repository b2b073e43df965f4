from typing import Any

from django.conf import settings
from django.core.paginator import InvalidPage
from django.db.models import QuerySet
from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.request import Request


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=` and `?page_size=` (capped at API_MAX_PAGE_SIZE; larger values are clamped)."""

    page_size_query_param = "page_size"
    max_page_size = settings.API_MAX_PAGE_SIZE


class LazyPageNumberPagination(PageNumberPagination):
    """Same page numbers, count and links, but `paginate_queryset` hands back the page as a
    lazy sliced queryset (LIMIT/OFFSET) instead of a list: a view can use it as a subquery
    (`pk__in=page`) and read the page's rows in the same statement as its ids."""

    def paginate_queryset(self, queryset: QuerySet[Any], request: Request, view: Any = None) -> QuerySet[Any]:
        self.request = request
        paginator = self.django_paginator_class(queryset, self.get_page_size(request))
        page_number = self.get_page_number(request, paginator)
        try:
            self.page = paginator.page(page_number)
        except InvalidPage as exc:
            raise NotFound(self.invalid_page_message.format(page_number=page_number, message=str(exc))) from exc
        return self.page.object_list
