"""The invoice list's payment-request side: which PR an invoice is in, "create a payment request from the
selected invoices" and "add the selected invoices to a draft payment request".

`invoices.admin` cannot know about payment requests (invoices sit below payments), so this module
re-registers the invoice admin with a subclass that adds them; `payments.admin` imports it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from approvals.models import ApprovalFlow
from invoices.admin import InvoiceAdmin
from invoices.models import Invoice
from payments import selectors, services
from payments.models import PaymentRequest, PaymentRequestStatus
from payments.services import invoice_link


class CreatePRForm(forms.Form):
    required_css_class = "required"  # the admin's bold label for required fields
    name = forms.CharField(
        label=_("Name"),
        max_length=255,
        required=False,
        help_text=_("Empty: the sellers' names."),
        widget=forms.TextInput(attrs={"class": "vTextField"}),  # the admin's wide text input
    )
    flow = forms.ModelChoiceField(
        queryset=ApprovalFlow.objects.filter(is_active=True).order_by("name"),
        required=False,
        label=_("Approval flow"),
        help_text=_("Empty picks the flow by amount."),
    )


def _forged_flow(request: HttpRequest) -> ApprovalFlow | None:
    """A `flow` the form did not offer: handed to the service, which refuses it (CUSTOM_CHAIN_NOT_ALLOWED)."""
    value = request.POST.get("flow", "")
    return ApprovalFlow.objects.filter(pk=int(value)).first() if value.isdigit() else None


class LinkForm(forms.Form):
    required_css_class = "required"
    pr = forms.ModelChoiceField(queryset=PaymentRequest.objects.none(), label=_("Payment request"))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        drafts = selectors.payment_requests_visible_to(user).filter(status=PaymentRequestStatus.DRAFT)
        pr_field = self.fields["pr"]
        assert isinstance(pr_field, forms.ModelChoiceField)
        pr_field.queryset = drafts.order_by("-id")


class InvoicePRAdmin(InvoiceAdmin):
    actions = [*InvoiceAdmin.actions, "create_payment_request", "add_to_payment_request"]

    def get_list_display(self, request: HttpRequest) -> Any:
        display = list(super().get_list_display(request))
        display.insert(display.index("status_badge") + 1, "pr_display")
        return display

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        return [*fieldsets[:1], (_("Payment request"), {"fields": ["pr_display"]}), *fieldsets[1:]]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [*super().get_readonly_fields(request, obj), "pr_display"]

    @admin.display(description=_("payment request"))
    def pr_display(self, obj: Invoice) -> Any:
        link = getattr(obj, "pr_link", None)  # selected with the row (invoices.selectors.invoice_base_queryset)
        if link is None:
            return "—"
        return format_html(
            '<a href="{}">#{}</a>', reverse("admin:payments_paymentrequest_change", args=[link.pr_id]), link.pr_id
        )

    def has_create_pr_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.add_paymentrequest")

    def _form_page(
        self, request: HttpRequest, queryset: QuerySet[Invoice], form: forms.Form, action: str, title: Any, submit: Any
    ) -> TemplateResponse:
        invoices = list(queryset.order_by("issue_date", "id"))
        return TemplateResponse(
            request,
            "admin/invoices/invoice/pr_action.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": title,
                "form": form,
                "invoices": invoices,
                "action": action,
                "submit_label": submit,
                "total": sum((i.total_payable or 0 for i in invoices), 0),
                "currency": invoices[0].currency if invoices else "VND",
            },
        )

    @admin.action(description=_("Create a payment request from the selected invoices…"), permissions=["create_pr"])
    def create_payment_request(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> HttpResponse | None:
        form = CreatePRForm(request.POST if "apply" in request.POST else None)
        if not request.user.has_perm("approvals.customize_chain"):
            form.fields.pop("flow")  # CHAIN-FROM-POLICY: the amount's flow; a forged `flow` goes to the service
        if "apply" in request.POST and form.is_valid():
            pr = self.call_service(
                request,
                services.payment_request_create_from_invoices,
                actor=request.user,
                invoice_ids=list(queryset.values_list("pk", flat=True)),
                name=form.cleaned_data["name"],
                flow=form.cleaned_data.get("flow") or _forged_flow(request),
            )
            if pr is None:
                return None
            messages.success(
                request,
                gettext("Payment request #%(id)d created as a draft with %(n)d invoice(s).")
                % {"id": pr.pk, "n": queryset.count()},
            )
            return HttpResponseRedirect(reverse("admin:payments_paymentrequest_change", args=[pr.pk]))
        return self._form_page(
            request,
            queryset,
            form,
            "create_payment_request",
            _("Create a payment request"),
            _("Create payment request"),
        )

    @admin.action(description=_("Add the selected invoices to a draft payment request…"), permissions=["create_pr"])
    def add_to_payment_request(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> HttpResponse | None:
        form = LinkForm(request.POST if "apply" in request.POST else None, user=request.user)
        if "apply" in request.POST and form.is_valid():
            pr = form.cleaned_data["pr"]
            done = 0
            for invoice in queryset.order_by("pk"):
                done += self.call_service(request, invoice_link, invoice=invoice, pr=pr, actor=request.user) is not None
            if done:
                messages.success(
                    request,
                    ngettext(
                        "%(n)d invoice added to payment request #%(id)d.",
                        "%(n)d invoices added to payment request #%(id)d.",
                        done,
                    )
                    % {"n": done, "id": pr.pk},
                )
            return None
        return self._form_page(
            request,
            queryset,
            form,
            "add_to_payment_request",
            _("Add invoices to a payment request"),
            _("Add to payment request"),
        )


admin.site.unregister(Invoice)
admin.site.register(Invoice, InvoicePRAdmin)
