"""Base viewsets every app's API builds on."""

from __future__ import annotations

from rest_framework import mixins, viewsets

# Ids are bigints: anything else (letters, 30-digit numbers) is simply not found, instead of
# reaching the database as a value it cannot hold.
ID_PATTERN = r"[0-9]{1,18}"


class GenericViewSet(viewsets.GenericViewSet):
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
