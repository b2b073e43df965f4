"""Payment methods in the back office: the bank accounts copied into invoices and requests."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from acountee.admin_mixins import RefusalRedirectMixin, ServiceCallMixin
from acountee.search import FoldedSearchAdminMixin
from audit.admin import AuditHistoryMixin
from payments import selectors, services
from payments.models import PaymentMethod
from payments.selectors import PAYMENT_METHOD_SEARCH_FIELDS
from payments.services.methods import PAYMENT_METHOD_FIELDS


@admin.register(PaymentMethod)
class PaymentMethodAdmin(
    FoldedSearchAdminMixin, RefusalRedirectMixin, AuditHistoryMixin, ServiceCallMixin, admin.ModelAdmin
):
    list_display = ["name", "bank_name", "bank_account", "account_name", "updated_at"]
    search_fields = PAYMENT_METHOD_SEARCH_FIELDS
    fields = ["name", "bank_name", "bank_account", "account_name", "note", "created_at", "updated_at", "audit_history"]
    readonly_fields = ["created_at", "updated_at", "audit_history"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[PaymentMethod]:
        return selectors.payment_method_list()

    def save_model(self, request: HttpRequest, obj: PaymentMethod, form: ModelForm, change: bool) -> None:
        # A refusal rolls the form's transaction back and shows the reason (no "added successfully" next to it).
        data = {k: form.cleaned_data.get(k, "") for k in PAYMENT_METHOD_FIELDS}
        if change:
            saved = self._call_or_refuse(services.payment_method_update, method=obj, actor=request.user, **data)
        else:
            saved = self._call_or_refuse(services.payment_method_create, actor=request.user, **data)
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: PaymentMethod) -> None:
        self._call_or_refuse(services.payment_method_delete, method=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[PaymentMethod]) -> None:
        for method in queryset:
            self.call_service(request, services.payment_method_delete, method=method, actor=request.user)
