"""The back office of the approval engine: approval flows (owners) and delegations (approvers).

Every write calls `approvals.services` through `call_service`, so the admin obeys exactly the rules
the API obeys."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from accounts.authentication import admin_user
from accounts.models import User
from acountee import admin_display
from acountee.admin_mixins import RefusalRedirectMixin, ServiceCallMixin
from acountee.search import FoldedSearchAdminMixin
from approvals import selectors, services
from approvals.models import (
    ApprovalDelegation,
    ApprovalFlow,
    ApprovalFlowStep,
    ApprovalFlowStepUser,
    StepMode,
)
from audit.admin import AuditHistoryMixin


# --- flows ------------------------------------------------------------------------------------------------------
class FlowStepForm(ModelForm):
    # Search-as-you-type over users (the user admin's search fields; owners only, as flows are).
    approver_users = forms.ModelMultipleChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("email"),
        label=_("approvers"),
        widget=AutocompleteSelectMultiple(ApprovalFlowStepUser._meta.get_field("user"), admin.site),
    )
    alternate_users = forms.ModelMultipleChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("email"),
        label=_("alternates"),
        required=False,
        widget=AutocompleteSelectMultiple(ApprovalFlowStepUser._meta.get_field("user"), admin.site),
        help_text=_(
            "Take the place of an approver who cannot approve a request (they prepared it, or are "
            "inactive with no substitute): for example the owner for the chief accountant's own request. "
            "Never added otherwise."
        ),
    )

    class Meta:
        model = ApprovalFlowStep
        fields = ["number", "name", "mode"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            rows = list(self.instance.step_users.all())
            self.fields["approver_users"].initial = [su.user_id for su in rows if not su.is_alternate]
            self.fields["alternate_users"].initial = [su.user_id for su in rows if su.is_alternate]


class FlowStepFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        live = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        if not live:
            raise forms.ValidationError(_("A flow needs at least one step."))
        numbers = [f.cleaned_data["number"] for f in live]
        if len(set(numbers)) != len(numbers):
            raise forms.ValidationError(_("Step numbers must differ."))


class ApprovalFlowStepInline(admin.StackedInline):
    model = ApprovalFlowStep
    form = FlowStepForm
    formset = FlowStepFormSet
    extra = 0
    min_num = 1
    fields = ["number", "name", "mode", "approver_users", "alternate_users"]
    ordering = ["number"]


@admin.register(ApprovalFlow)
class ApprovalFlowAdmin(
    FoldedSearchAdminMixin, RefusalRedirectMixin, AuditHistoryMixin, ServiceCallMixin, admin.ModelAdmin
):
    """Owners keep flows; the steps are edited inline and saved by the service as a whole."""

    list_display = ["name", "is_active", "amount_range", "step_summary", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    fields = ["name", "description", "is_active", "min_amount", "max_amount", "audit_history"]
    readonly_fields = ["audit_history"]
    inlines = [ApprovalFlowStepInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApprovalFlow]:
        return selectors.flow_list()

    def _owner(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_owner)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._owner(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._owner(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._owner(request)

    @admin.display(description=_("amount range"), ordering="min_amount")
    def amount_range(self, obj: ApprovalFlow) -> SafeString:
        if obj.min_amount is None and obj.max_amount is None:
            return format_html("{}", _("any amount"))
        return format_html("{} → {}", admin_display.money(obj.min_amount), admin_display.money(obj.max_amount))

    @admin.display(description=_("steps"))
    def step_summary(self, obj: ApprovalFlow) -> SafeString:
        return format_html_join(
            " → ", "{} ({})", ((s.name, dict(StepMode.choices).get(s.mode, s.mode)) for s in obj.steps.all())
        )

    def save_model(self, request: HttpRequest, obj: ApprovalFlow, form: ModelForm, change: bool) -> None:
        """Saved together with the steps in save_related, by one service call."""

    def save_formset(self, request: HttpRequest, form: ModelForm, formset: Any, change: bool) -> None:
        """Saved by save_related through the service."""

    def save_related(self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool) -> None:
        steps: list[dict[str, Any]] = []
        for formset in formsets:
            # the formsets never save themselves; the admin's change message still reads these
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            live = [f for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
            for f in sorted(live, key=lambda f: f.cleaned_data["number"]):
                steps.append(
                    {
                        "name": f.cleaned_data["name"],
                        "mode": f.cleaned_data["mode"],
                        "approvers": list(f.cleaned_data["approver_users"]),
                        "alternates": list(f.cleaned_data.get("alternate_users") or []),
                    }
                )
        data = {k: form.cleaned_data.get(k) for k in ("name", "description", "is_active", "min_amount", "max_amount")}
        if change:
            flow = self._call_or_refuse(
                services.approval_flow_update, flow=form.instance, actor=request.user, steps=steps, **data
            )
        else:
            flow = self._call_or_refuse(services.approval_flow_create, actor=request.user, steps=steps, **data)
        form.instance.pk = flow.pk

    def delete_model(self, request: HttpRequest, obj: ApprovalFlow) -> None:
        self.call_service(request, services.approval_flow_delete, flow=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ApprovalFlow]) -> None:
        for flow in queryset:
            self.delete_model(request, flow)


# --- delegations ---------------------------------------------------------------------------------------------
class DelegationForm(ModelForm):
    class Meta:
        model = ApprovalDelegation
        fields = ["approver", "substitute", "start_date", "end_date", "note"]


@admin.register(ApprovalDelegation)
class ApprovalDelegationAdmin(RefusalRedirectMixin, ServiceCallMixin, admin.ModelAdmin):
    """Approvers name a substitute for their leave; owners may do it for anyone."""

    form = DelegationForm
    list_display = ["approver", "substitute", "start_date", "end_date", "note", "created_by"]
    list_select_related = ["approver", "substitute", "created_by"]
    date_hierarchy = "start_date"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApprovalDelegation]:
        # list_select_related is ignored once the queryset already selects related rows
        return selectors.delegation_list(user=admin_user(request)).select_related("created_by")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(
            request.user.is_active and (obj is None or request.user.is_owner or obj.approver_id == request.user.pk)
        )

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"approver": request.user.pk}

    def save_model(self, request: HttpRequest, obj: ApprovalDelegation, form: ModelForm, change: bool) -> None:
        data = form.cleaned_data
        saved = self._call_or_refuse(
            services.approval_delegation_create,
            actor=request.user,
            approver=data["approver"],
            substitute=data["substitute"],
            start_date=data["start_date"],
            end_date=data["end_date"],
            note=data["note"],
        )
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: ApprovalDelegation) -> None:
        self.call_service(request, services.approval_delegation_delete, delegation=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ApprovalDelegation]) -> None:
        for delegation in queryset:
            self.delete_model(request, delegation)
