"""Query parameters, read the same way by every endpoint."""

from __future__ import annotations

from django.http import QueryDict


def present(query: QueryDict) -> QueryDict:
    """The query without its empty parameters: `?status=` means "no status filter" everywhere
    (as HTML forms send it and django-filter reads it), never a filter on some endpoints and a
    400 on others. The OpenAPI document says so (`allowEmptyValue`, acountee.api.schema)."""
    cleaned = query.copy()
    for key in list(cleaned):
        values = [value for value in cleaned.getlist(key) if value != ""]
        if values:
            cleaned.setlist(key, values)
        else:
            del cleaned[key]
    return cleaned
