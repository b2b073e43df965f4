"""The query parameters each API operation accepts: exactly those the OpenAPI document declares for it
(issue 20, "unknown query parameters").

A parameter the operation does not know used to be ignored: `?stauts=draft` listed every request, a report
ignored a misspelt `?form=`. Now it is a 400 `UNKNOWN_PARAMETER` naming it and what the operation takes.
What the operation takes is read from the generated document itself — the same `SchemaGenerator` that serves
`/api/schema/`, with its filters, pagination and `extend_schema(parameters=…)` — so the document and the server
cannot drift: declaring a parameter is what makes the server accept it.

The map is built once per process, on the first API request (the whole document: a few hundred milliseconds,
docs/API.md), then each request costs one dictionary look-up and a set difference. It is keyed by the URL
pattern's view callable (`request.resolver_match.func`, the object the generator enumerates too) and the method.
Views outside the document (`/api/schema/`, `/api/docs/`, OPTIONS) are not checked."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any, cast

from django.utils import translation
from django.utils.translation import gettext as _
from rest_framework.request import Request

from acountee.errors import UnknownParameter

Key = tuple[Callable[..., Any], str]

_lock = threading.Lock()
_declared: dict[Key, frozenset[str]] | None = None


def _normal(path: str) -> str:
    """`/api/invoices/{pk}/` (the URL pattern) and `/api/invoices/{id}/` (the document) are one path."""
    return re.sub(r"\{[^}]+\}", "{}", path)


def build() -> dict[Key, frozenset[str]]:
    """(view callable, METHOD) → the names of the query parameters the document declares for the operation."""
    from drf_spectacular.generators import SchemaGenerator

    generator: Any = cast(Any, SchemaGenerator)()  # drf-spectacular is untyped
    with translation.override("en"):  # as /api/schema/ (acountee.api.schema_view); only names are kept
        document = generator.get_schema(request=None, public=True)
    paths = {_normal(path): operations for path, operations in document["paths"].items()}
    declared: dict[Key, frozenset[str]] = {}
    for path, _regex, method, callback in generator.endpoints:
        operation = paths.get(_normal(path), {}).get(method.lower())
        if operation is not None:
            names = (p["name"] for p in operation.get("parameters", []) if p["in"] == "query")
            declared[callback, method] = frozenset(names)
    return declared


def declared_parameters() -> dict[Key, frozenset[str]]:
    global _declared
    if _declared is None:
        with _lock:
            if _declared is None:
                _declared = build()
    return _declared


def allowed_query_parameters(request: Request) -> frozenset[str] | None:
    """The names the request's operation declares; None when the document has no such operation."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return None
    method = "GET" if request.method == "HEAD" else str(request.method)
    return declared_parameters().get((match.func, method))


def refuse_unknown_query_parameters(request: Request) -> None:
    allowed = allowed_query_parameters(request)
    if allowed is None:
        return
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise UnknownParameter(
            _("Query parameters this operation does not take: %(names)s.") % {"names": ", ".join(unknown)},
            details={"unknown": unknown, "allowed": sorted(allowed)},
        )
