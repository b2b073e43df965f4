"""The one admin helper that turns domain errors into admin messages (docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from acountee.db.errors import domain_error
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
        except DatabaseError as exc:
            # Locked, deadlocked, disk full…: the service's transaction rolled back; say why.
            failure = domain_error(exc)
            if failure is None:
                raise
            messages.error(request, str(failure.error.message))
            return None


class ReadOnlyAdminMixin:
    """An admin page that only shows (logs, stored evidence, outboxes, derived reports): nobody
    adds, changes or deletes through it, whatever their model permissions. For ModelAdmin and
    inlines alike; a page that still deletes (through a service) overrides `has_delete_permission`."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ServiceRefused(Exception):
    """A service refused a save: roll the admin's transaction back and show the reason."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class RefusalRedirectMixin:
    """For saves from the change form. `changeform_view` runs in one transaction; a refusal
    raised from save_model / save_related (through `_call_or_refuse`) rolls it back and sends
    the user back to the form with the reason — no "changed successfully" next to it."""

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)  # type: ignore[misc]
        except ServiceRefused as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(
        self,
        request: HttpRequest,
        object_id: str,
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)  # type: ignore[misc]
        except ServiceRefused as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(request.get_full_path())

    def _call_or_refuse(self, fn: Callable[..., Any], /, **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except AcounteeError as exc:
            raise ServiceRefused(str(exc.message)) from exc
        except DatabaseError as exc:
            failure = domain_error(exc)
            if failure is None:
                raise
            raise ServiceRefused(str(failure.error.message)) from exc
