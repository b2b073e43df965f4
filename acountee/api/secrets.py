"""Answers that carry a credential shown once: a sign-in token, a service account's token, a webhook's signing
secret. They are marked `Cache-Control: no-store`, so no cache keeps them and the idempotency guard stores no
copy (accounts.requestguard.idempotency.carries_secret; docs/api-guard.md)."""

from __future__ import annotations

from typing import Any

from django.utils.cache import patch_cache_control
from rest_framework import status as http
from rest_framework.response import Response


def secret_response(data: Any, status: int = http.HTTP_200_OK) -> Response:
    response = Response(data, status=status)
    patch_cache_control(response, no_store=True)
    return response
