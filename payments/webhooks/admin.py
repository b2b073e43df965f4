"""Back office (owners only): webhook endpoints (list, add, change, delete through the services; the secret
shown once, after the creation) and the read-only delivery log with a "redeliver" action."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from acountee import admin_display
from acountee.admin_mixins import ReadOnlyAdminMixin, RefusalRedirectMixin, ServiceCallMixin
from audit.admin import AuditHistoryMixin
from payments.webhooks import selectors, services
from payments.webhooks.models import DeliveryStatus, EventType, WebhookDelivery, WebhookEndpoint

DELIVERY_TONES: dict[str, str] = {
    DeliveryStatus.PENDING: "waiting",
    DeliveryStatus.DELIVERED: "done",
    DeliveryStatus.FAILED: "failed",
}
ENDPOINT_FIELDS: tuple[str, ...] = (
    "url",
    "description",
    "event_types",
    "is_active",
    "created_by",
    "created_at",
    "updated_at",
)
DELIVERY_FIELDS: tuple[str, ...] = (
    "endpoint",
    "event_type",
    "event_id",
    "event_occurred_at",
    "status_badge",
    "attempts",
    "last_response_code",
    "last_error",
    "next_attempt_at",
    "delivered_at",
    "created_at",
    "updated_at",
)


class OwnersOnlyMixin:
    def _owner(self, request: HttpRequest) -> bool:
        return bool(getattr(request.user, "is_owner", False))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._owner(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._owner(request)


class WebhookEndpointForm(forms.ModelForm):
    # An address typed without a scheme is read as https (Django 6's default): webhooks are https.
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        label=_("events"), choices=EventType.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "event_types", "is_active"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(
    OwnersOnlyMixin, RefusalRedirectMixin, AuditHistoryMixin, ServiceCallMixin, admin.ModelAdmin
):
    form = WebhookEndpointForm
    list_display = ["url", "description", "active_badge", "events", "created_by", "created_at"]
    list_filter = ["is_active"]
    list_select_related = ["created_by"]
    fields = ENDPOINT_FIELDS
    readonly_fields = ["previous_secret_expires_at", "created_by", "created_at", "updated_at", "audit_history"]
    actions = ["rotate_secret"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ENDPOINT_FIELDS
        return [*ENDPOINT_FIELDS[:4], "previous_secret_expires_at", *ENDPOINT_FIELDS[4:], "audit_history"]

    @admin.action(description=_("Rotate the signing secret (the old one signs too for the overlap)"))
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            rotated = self.call_service(
                request, services.webhook_endpoint_rotate_secret, endpoint=endpoint, actor=request.user
            )
            if rotated is None:
                continue
            messages.warning(
                request,
                _(
                    "New signing secret of %(url)s, shown only now: %(secret)s. The previous one also signs "
                    "until %(until)s."
                )
                % {
                    "url": rotated.url,
                    "secret": rotated.secret,
                    "until": rotated.previous_secret_expires_at or "—",
                },
            )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._owner(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._owner(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._owner(request)

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookEndpoint]:
        return selectors.endpoint_list()

    @admin.display(description=_("active"), ordering="is_active")
    def active_badge(self, obj: WebhookEndpoint) -> str:
        if obj.is_active:
            return admin_display.badge("active", _("active"), tone="done")
        return admin_display.badge("inactive", _("inactive"), tone="muted")

    @admin.display(description=_("events"))
    def events(self, obj: WebhookEndpoint) -> str:
        labels = dict(EventType.choices)
        return ", ".join(str(labels.get(t, t)) for t in obj.event_types)

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: forms.ModelForm, change: bool) -> None:
        data = {k: form.cleaned_data.get(k) for k in ("url", "description", "event_types", "is_active")}
        data["description"] = data["description"] or ""
        if change:
            saved = self._call_or_refuse(services.webhook_endpoint_update, endpoint=obj, actor=request.user, **data)
        else:
            saved = self._call_or_refuse(services.webhook_endpoint_create, actor=request.user, **data)
            messages.warning(
                request,
                _("Signing secret of this endpoint, shown only now: %(secret)s") % {"secret": saved.secret},
            )
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: WebhookEndpoint) -> None:
        self._call_or_refuse(services.webhook_endpoint_delete, endpoint=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            self.call_service(request, services.webhook_endpoint_delete, endpoint=endpoint, actor=request.user)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(OwnersOnlyMixin, ReadOnlyAdminMixin, ServiceCallMixin, admin.ModelAdmin):
    """The delivery log: what was sent where, the answer, what failed and why."""

    list_display = [
        "id",
        "endpoint",
        "event_type",
        "event_id",
        "status_badge",
        "attempts",
        "last_response_code",
        "next_attempt_at",
        "delivered_at",
        "short_error",
    ]
    list_filter = ["status"]
    actions = ["redeliver"]
    fields = DELIVERY_FIELDS
    readonly_fields = DELIVERY_FIELDS

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookDelivery]:
        return selectors.delivery_log()

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: WebhookDelivery) -> str:
        return admin_display.badge(obj.status, obj.get_status_display(), tone=DELIVERY_TONES.get(obj.status))

    @admin.display(description=_("event type"))
    def event_type(self, obj: WebhookDelivery) -> str:
        return str(obj.event.get_type_display())

    @admin.display(description=_("event"), ordering="event_id")
    def event_id(self, obj: WebhookDelivery) -> str:
        return f"#{obj.event_id}"

    @admin.display(description=_("occurred at"))
    def event_occurred_at(self, obj: WebhookDelivery) -> Any:
        return obj.event.occurred_at

    @admin.display(description=_("last error"))
    def short_error(self, obj: WebhookDelivery) -> str:
        return obj.last_error[:80]

    @admin.action(description=_("Redeliver the selected deliveries"), permissions=["view"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        done = self.call_service(
            request,
            services.webhook_deliveries_redeliver,
            ids=list(queryset.values_list("pk", flat=True)),
            actor=request.user,
        )
        if done is not None:
            messages.success(
                request,
                ngettext("%(n)d delivery will be sent again.", "%(n)d deliveries will be sent again.", done)
                % {"n": done},
            )
