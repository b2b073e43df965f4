"""The one admin helper that turns domain errors into admin messages (ARCHITECTURE §6)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest

from acountee.errors import AcounteeError


class ServiceCallMixin:
    """Admin classes call services through `call_service`: a refused operation becomes an
    error message on the page the user was on, never a 500."""

    def call_service(self, request: HttpRequest, fn: Callable[..., Any], /, **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except AcounteeError as exc:
            messages.error(request, str(exc.message))
            return None
