"""JSON parsing that answers every malformed body with 400 MALFORMED_REQUEST."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser turns ValueError into a 400, but `[[[[…` nested deeper than Python's
    recursion limit raises RecursionError: a 500 from a few kilobytes of brackets."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(_("JSON parse error - nested too deeply.")) from None
