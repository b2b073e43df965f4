"""Back office: owners see current sign-in counters and lock-outs and can lift one early
(deleting the row is the unlock). Nobody edits them by hand; idempotency keys stay out of
the admin (they hold other users' API answers)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.requestguard import lockout
from accounts.requestguard.forms import LockoutAdminAuthenticationForm
from accounts.requestguard.models import SignInThrottle
from acountee.admin_mixins import ReadOnlyAdminMixin

# The admin sign-in counts failures and locks out (docs/api-guard.md).
admin.site.login_form = LockoutAdminAuthenticationForm


@admin.register(SignInThrottle)
class SignInThrottleAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["scope", "value", "failures", "window_started_at", "locked_until"]
    list_filter = ["scope"]
    search_fields = ["value"]
    ordering = ["-window_started_at"]
    readonly_fields = fields = ["scope", "value", "failures", "window_started_at", "locked_until"]

    def _owner(self, request: HttpRequest) -> bool:
        return bool(getattr(request.user, "is_owner", False))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._owner(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._owner(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._owner(request)

    def delete_model(self, request: HttpRequest, obj: SignInThrottle) -> None:
        lockout.sign_in_throttles_unlock(ids=[obj.pk])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SignInThrottle]) -> None:
        lockout.sign_in_throttles_unlock(ids=list(queryset.values_list("pk", flat=True)))
