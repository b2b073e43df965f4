"""Diacritic-insensitive search, one way for the API `q` filters and the admin search boxes
(docs/search.md).

Text is folded by `acountee_fold()` (lower-case, accents and đ removed; the function is created
by migration `acountee.0001_search_fold`), so "cong ty sao mai" finds
"CÔNG TY TNHH DỊCH VỤ KỸ THUẬT SAO MAI". The searched fields of a row are joined into one
folded *document*, separated by a newline, and every term must occur in it (`LIKE '%term%'`).
Terms never contain control characters, so a term cannot match across two fields.

Big tables (invoices, PRs) store the document in a generated column (`SearchDocument` as a
`GeneratedField`) with a trigram GIN index, passed as `document=`: rows are then checked with
plain LIKEs on stored text instead of folding every candidate row once per term, which is what
made the difference on 100k invoices (docs/search.md). Small tables fold on the fly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import django_filters
from django.core.validators import RegexValidator
from django.db.models import F, Func, Q, QuerySet, TextField, Value
from django.http import HttpRequest
from django.utils.text import smart_split, unescape_string_literal
from django.utils.translation import gettext_lazy as _

# Bounds what one search costs: each term is one more LIKE (and index key).
MAX_TERMS = 10
MAX_LENGTH = 200
# NUL cannot reach PostgreSQL text; other C0 controls never belong in a search either, and
# keeping them out of terms keeps the newline separator of the document unmatchable.
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_ALIAS = "_acountee_search"


class Fold(Func):
    """`acountee_fold(expr)`: lower(unaccent(expr)), IMMUTABLE so it can be indexed."""

    function = "acountee_fold"
    output_field = TextField()


class SearchDocument(Func):
    """acountee_fold(coalesce(a, '') || E'\\n' || coalesce(b, '') …) over field paths.

    A fixed SQL shape without parameters, usable as a GeneratedField expression (all of it is
    IMMUTABLE), or inline on small tables."""

    template = "acountee_fold(%(expressions)s)"
    arg_joiner = " || E'\\n' || "
    output_field = TextField()

    def __init__(self, *fields: str):
        if not fields:
            raise ValueError("SearchDocument needs at least one field")
        parts = [Func(F(name), template="COALESCE(%(expressions)s, '')", output_field=TextField()) for name in fields]
        super().__init__(*parts)


def search_terms(text: str) -> list[str]:
    """Whitespace-separated terms ("quoted phrases" kept together, as the admin does), control
    characters treated as spaces, duplicates dropped, at most MAX_TERMS."""
    text = CONTROL_RE.sub(" ", text or "")[:MAX_LENGTH]
    terms: list[str] = []
    for bit in smart_split(text):
        if bit[:1] in {'"', "'"} and bit[-1] == bit[0]:
            bit = unescape_string_literal(bit) if len(bit) > 1 else ""
        bit = bit.strip()
        if bit and bit not in terms:
            terms.append(bit)
    return terms[:MAX_TERMS]


def search_filter(
    queryset: QuerySet[Any],
    text: str,
    fields: Sequence[str],
    *,
    document: str | None = None,
) -> QuerySet[Any]:
    """Rows where every term of `text` occurs, folded, in one of `fields` (field paths), or
    in the stored folded `document` field (a `SearchDocument(*fields)` GeneratedField) if given.
    Blank text filters nothing. `%`, `_` and `\\` in terms are literal (Django escapes them)."""
    terms = search_terms(text)
    if not terms:
        return queryset
    target = document or _ALIAS
    if document is None:
        # Django's admin prefixes (=exact, ^startswith, @full-text) have no folded equivalent:
        # such a field is searched like the others rather than breaking the page.
        queryset = queryset.alias(**{_ALIAS: SearchDocument(*(name.lstrip("=^@") for name in fields))})
    return queryset.filter(*[Q(**{f"{target}__contains": Fold(Value(term))}) for term in terms])


class SearchTextFilter(django_filters.CharFilter):
    """A FilterSet `q`: `search_filter` over `fields`; control characters and more than
    MAX_LENGTH characters are a 400 (the filter backend reports the form errors)."""

    def __init__(self, *, fields: Sequence[str], document: str | None = None, **kwargs: Any):
        self.search_fields = tuple(fields)
        self.search_document = document
        kwargs.setdefault("max_length", MAX_LENGTH)
        kwargs.setdefault("help_text", "Words to find (accents and case ignored): " + ", ".join(fields))
        kwargs.setdefault(
            "validators",
            [
                RegexValidator(CONTROL_RE, inverse_match=True, message=_("Control characters are not allowed.")),
            ],
        )
        super().__init__(**kwargs)

    def filter(self, qs: QuerySet[Any], value: str) -> QuerySet[Any]:
        return search_filter(qs, value or "", self.search_fields, document=self.search_document)


class FoldedSearchAdminMixin:
    """ModelAdmin mixin: the search box uses `search_filter` over `search_fields` (plain paths),
    through the stored `search_document` field when the admin names one. Control characters in
    the box are treated as spaces rather than refused."""

    search_document: str | None = None

    def get_search_results(
        self,
        request: HttpRequest,
        queryset: QuerySet[Any],
        search_term: str,
    ) -> tuple[QuerySet[Any], bool]:
        from django.contrib.admin.utils import lookup_spawns_duplicates  # models import this module

        fields = tuple(self.get_search_fields(request))  # type: ignore[attr-defined]
        if not fields or not search_terms(search_term):
            return queryset, False
        duplicates = any(lookup_spawns_duplicates(self.opts, name) for name in fields)  # type: ignore[attr-defined]
        return search_filter(queryset, search_term, fields, document=self.search_document), duplicates
