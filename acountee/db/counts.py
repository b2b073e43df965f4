"""Counting a huge list without reading it: the planner's row estimate, and a paginator that uses it.

`count(*)` reads every row it counts (PostgreSQL keeps no row count): at a million invoices the count of an
unfiltered list costs more than the page itself. The planner already knows about how many rows a query returns
(from `pg_class.reltuples` and the column statistics ANALYZE keeps): `EXPLAIN` gives it for the price of
planning. Lists use that estimate only when nobody filtered (the total of everything is a rough figure anyway)
and the estimate is large; a filtered list is always counted exactly (docs/performance.md)."""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import connections
from django.db.models import QuerySet


def estimated_count(queryset: QuerySet[Any, Any]) -> int:
    """The planner's estimate of the rows `queryset` returns (no row is read)."""
    # Joins to one row at most (select_related) never change the number of rows: left out, like count() does.
    query = queryset.order_by().query.clone()
    query.select_related = False
    compiler = query.get_compiler(using=queryset.db)
    sql, params = compiler.as_sql()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class EstimatingPaginator(Paginator):
    """Django's paginator whose `count` is the planner's estimate when `estimate` is allowed and the estimate
    reaches `ESTIMATED_COUNT_FROM` (then `count_is_estimate` is True); the exact count otherwise.

    With an estimated count the last page number is an estimate too: a page past the real end is simply empty
    (`allow_empty_first_page` semantics do not apply), one past the estimate is a 404 like any page past the end."""

    def __init__(self, object_list: Any, per_page: int, *, estimate: bool = False, **kwargs: Any) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.estimate = estimate
        self.count_is_estimate = False

    @cached_property
    def count(self) -> int:
        if self.estimate and isinstance(self.object_list, QuerySet):
            guess = estimated_count(self.object_list)
            if guess >= settings.ESTIMATED_COUNT_FROM:
                self.count_is_estimate = True
                return guess
        return super().count

    def page_bounds(self, number: int) -> tuple[int, int]:
        """The page's slice. Django's own cuts the last page at `count`; an estimate may be below the real number
        of rows, so then the page is read whole (`per_page` rows, or what is left)."""
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if not self.count_is_estimate and top + self.orphans >= self.count:
            top = self.count
        return bottom, top

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)  # evaluates `count`, so `count_is_estimate` is known below
        bottom, top = self.page_bounds(number)
        return Page(self.object_list[bottom:top], number, self)


class IdPagePaginator(EstimatingPaginator):
    """For admin changelists over tables of millions of rows: the count as `EstimatingPaginator` decides, and a
    page read as `pk IN (the page's ids, OFFSET over the ordering's index only)` in the list's order, so a deep page
    walks index entries, not joined rows (offset paging otherwise degrades with the page number)."""

    def page(self, number: Any) -> Any:
        number = self.validate_number(number)
        bottom, top = self.page_bounds(number)
        rows = self.object_list
        if isinstance(rows, QuerySet) and rows.ordered and not rows.query.distinct:
            ids = rows.values_list("pk", flat=True)[bottom:top]
            return Page(rows.filter(pk__in=ids), number, self)
        return Page(rows[bottom:top], number, self)


# Changelist parameters that only choose a page or an order: without any other, the list is unfiltered.
ADMIN_NOT_FILTERS = {"p", "o"}


class LargeTableAdminMixin:
    """ModelAdmin mixin (public hook `get_paginator`): `IdPagePaginator`, estimating the count only when the
    changelist is unfiltered (no search, no filter, no date drill-down)."""

    def get_paginator(
        self, request: Any, queryset: Any, per_page: int, orphans: int = 0, allow_empty_first_page: bool = True
    ) -> IdPagePaginator:
        filtered = any(value != "" for name, value in request.GET.items() if name not in ADMIN_NOT_FILTERS)
        return IdPagePaginator(
            queryset, per_page, orphans=orphans, allow_empty_first_page=allow_empty_first_page, estimate=not filtered
        )
