"""Base views and viewsets every app's API builds on: each refuses the query parameters its operation does not
declare in the OpenAPI document (acountee.api.declared; `tests/api/test_unknown_parameters.py` checks that
every documented operation is served by one of these)."""

from __future__ import annotations

from typing import Any

from rest_framework import generics, mixins, views, viewsets
from rest_framework.request import Request

from acountee.api.declared import refuse_unknown_query_parameters

# Ids are bigints: anything else (letters, 30-digit numbers) is simply not found, instead of
# reaching the database as a value it cannot hold.
ID_PATTERN = r"[0-9]{1,18}"


class DeclaredQueryParameters:
    """After authentication and permissions (a stranger still gets 401/403 first), before the handler:
    a query parameter the operation does not declare is a 400 UNKNOWN_PARAMETER."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]  # a mixin over DRF's APIView
        refuse_unknown_query_parameters(request)


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
