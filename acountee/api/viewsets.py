"""Base views and viewsets every app's API builds on: each refuses the query parameters its operation does not
declare in the OpenAPI document (acountee.api.declared; `tests/api/test_unknown_parameters.py` checks that
every documented operation is served by one of these)."""

from __future__ import annotations

import math
from typing import Any, NoReturn

from rest_framework import generics, mixins, views, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from acountee.api.declared import refuse_unknown_query_parameters
from acountee.errors import RATE_LIMIT_HEADERS_ATTRIBUTE, RateLimited

# Ids are bigints: anything else (letters, 30-digit numbers) is simply not found, instead of
# reaching the database as a value it cannot hold.
ID_PATTERN = r"[0-9]{1,18}"


class DeclaredQueryParameters:
    """After authentication and permissions (a stranger still gets 401/403 first), before the handler:
    a query parameter the operation does not declare is a 400 UNKNOWN_PARAMETER."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]  # a mixin over DRF's APIView
        refuse_unknown_query_parameters(request)

    # --- rate limits (docs/api-guard.md): counted right after authentication, before permissions, so that a
    # caller's 401s and 403s count too and carry the RateLimit-* headers like every other answer.
    def check_permissions(self, request: Request) -> None:
        self.check_throttles(request)
        super().check_permissions(request)  # type: ignore[misc]

    def check_throttles(self, request: Request) -> None:
        if getattr(request, "_acountee_rate_checked", False):
            return
        request._acountee_rate_checked = True  # type: ignore[attr-defined]
        super().check_throttles(request)  # type: ignore[misc]

    def throttled(self, request: Request, wait: float) -> NoReturn:
        raise RateLimited(retry_after=math.ceil(wait or 1))

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        for name, value in (getattr(request, RATE_LIMIT_HEADERS_ATTRIBUTE, None) or {}).items():
            response[name] = value
        return response


class APIView(DeclaredQueryParameters, views.APIView):
    pass


class GenericAPIView(DeclaredQueryParameters, generics.GenericAPIView):
    pass


class GenericViewSet(DeclaredQueryParameters, viewsets.GenericViewSet):
    lookup_value_regex = ID_PATTERN


class ModelViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    GenericViewSet,
):
    """CRUD without PUT: clients change what they send (PATCH), never replace whole objects."""

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
