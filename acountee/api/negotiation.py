"""`?format=` only where an operation declares it (issue 20, "consistent edges").

DRF's global `URL_FORMAT_OVERRIDE` is off (acountee/settings.py): `?format=api` on any endpoint answered
HTML. The views whose document declares a `format` parameter (the OpenAPI document, the report downloads)
use this negotiation: the parameter picks one of the view's own renderers; a format the view does not have
is a 404, as DRF answers an unknown format suffix."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class QueryFormatNegotiation(DefaultContentNegotiation):
    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str] | Any:
        return super().select_renderer(request, renderers, format_suffix or request.query_params.get("format") or None)
