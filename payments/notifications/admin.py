"""Back office: owners read the delivery log and retry failed deliveries; every user sees
their own notifications (only theirs) and can mark them read."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from acountee import admin_display
from acountee.admin_mixins import ReadOnlyAdminMixin, ServiceCallMixin
from acountee.search import FoldedSearchAdminMixin
from payments.notifications import selectors, services
from payments.notifications.models import Notification, NotificationDelivery, NotificationPreference


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(ReadOnlyAdminMixin, FoldedSearchAdminMixin, ServiceCallMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "channel",
        "status_badge",
        "recipient",
        "pr",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "short_error",
    ]
    list_filter = ["status", "channel"]
    search_fields = ["address", "notification__title", "last_error"]
    actions = ["retry_failed"]
    readonly_fields = [
        "notification",
        "channel",
        "status",
        "address",
        "attempts",
        "last_error",
        "next_attempt_at",
        "sent_at",
        "created_at",
        "updated_at",
    ]
    fields = readonly_fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[NotificationDelivery]:
        return selectors.delivery_log()

    def _owner(self, request: HttpRequest) -> bool:
        return bool(getattr(request.user, "is_owner", False))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._owner(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._owner(request)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: NotificationDelivery) -> str:
        return admin_display.status_badge(obj)

    @admin.display(description=_("recipient"))
    def recipient(self, obj: NotificationDelivery) -> str:
        return str(obj.notification.recipient)

    @admin.display(description=_("payment request"))
    def pr(self, obj: NotificationDelivery) -> str:
        return str(obj.notification.pr)

    @admin.display(description=_("last error"))
    def short_error(self, obj: NotificationDelivery) -> str:
        return obj.last_error[:80]

    @admin.action(description=_("Retry the selected failed deliveries"), permissions=["view"])
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[NotificationDelivery]) -> None:
        done = self.call_service(
            request,
            services.deliveries_retry_failed,
            ids=list(queryset.values_list("pk", flat=True)),
            actor=request.user,
        )
        if done is not None:
            messages.success(
                request,
                ngettext("%(n)d delivery will be retried.", "%(n)d deliveries will be retried.", done) % {"n": done},
            )


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, ServiceCallMixin, admin.ModelAdmin):
    """'My notifications': every signed-in user sees only their own."""

    list_display = ["title", "kind", "pr", "created_at", "read_badge"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter)]
    actions = ["mark_read"]
    readonly_fields = ["kind", "pr", "on_behalf_of", "title", "body", "created_at", "read_at"]
    fields = readonly_fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Notification]:
        return selectors.notification_inbox(user=request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active) and (obj is None or obj.recipient_id == request.user.pk)

    @admin.display(description=_("read"), ordering="read_at")
    def read_badge(self, obj: Notification) -> str:
        if obj.read_at is None:
            return admin_display.badge("unread", _("unread"), tone="waiting")
        return admin_display.badge("read", _("read"), tone="muted")

    @admin.action(description=_("Mark the selected notifications read"), permissions=["view"])
    def mark_read(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        for pk in queryset.values_list("pk", flat=True):
            self.call_service(request, services.notification_mark_read, notification_id=pk, user=request.user)


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(ServiceCallMixin, admin.ModelAdmin):
    """'My notification channels': each user sees and edits only their own row."""

    fields = ["in_app", "email", "updated_at"]
    readonly_fields = ["updated_at"]
    list_display = ["user", "in_app", "email", "updated_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[NotificationPreference]:
        return NotificationPreference.objects.filter(user=request.user).select_related("user")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active) and (obj is None or obj.user_id == request.user.pk)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active) and not NotificationPreference.objects.filter(user=request.user).exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: NotificationPreference, form: Any, change: bool) -> None:
        saved = self.call_service(
            request,
            services.notification_preference_update,
            user=request.user,
            in_app=form.cleaned_data.get("in_app", True),
            email=form.cleaned_data.get("email", False),
        )
        obj.user = request.user
        if saved is not None:
            obj.pk, obj.in_app, obj.email, obj.updated_at = saved.pk, saved.in_app, saved.email, saved.updated_at
