"""The back office for payment requests: the list, the request page and its actions.

Every write calls `payments.services` through `call_service`, so
the admin obeys exactly the rules the API obeys: no preparer approves, only the current
step's approvers act, nothing changes outside draft, and so on.

Payment controls (docs/controls.md) in the forms: the approval flow is offered only to holders of
`approvals.customize_chain` (everyone else gets the amount's flow; a forged `flow` is refused), and
the amount is typed only on an advanced request without invoices (otherwise it is their total).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Exists, OuterRef, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from accounts.authentication import admin_user
from accounts.models import User
from acountee import admin_display
from acountee.admin_mixins import RefusalRedirectMixin, ServiceCallMixin, ServiceRefused
from acountee.db.counts import LargeTableAdminMixin
from acountee.search import FoldedSearchAdminMixin, search_filter
from approvals import policy
from approvals.models import (
    ApprovalFlow,
)
from audit.admin import AuditHistoryMixin
from audit.context import current_request
from payments import selectors, services
from payments.admin.attachments import PRAttachmentsMixin
from payments.admin.printing import PRPrintMixin
from payments.admin.request_page import (
    PRActionsMixin,
    ReasonForm,
    ReferenceForm,
    attachments_panel,
    available_actions,
    chain_panel,
    invoices_panel,
    payee_panel,
    preparers_panel,
)
from payments.models import PaymentMethod, PaymentRequest, PaymentRequestStatus, PaymentRequestType, PRInvoice
from payments.selectors import PR_SEARCH_FIELDS, payment_request_bank_details


# --- list filters --------------------------------------------------------------------------------------------
class MonthFilter(admin.SimpleListFilter):
    title = _("month")
    parameter_name = "month"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        today = timezone.localdate()
        months = []
        year, month = today.year, today.month
        for _i in range(12):
            months.append((f"{year:04d}-{month:02d}", f"{month:02d}/{year:04d}"))
            year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        return months

    def queryset(self, request: HttpRequest, queryset: QuerySet[PaymentRequest]) -> QuerySet[PaymentRequest]:
        value = self.value()
        if not value:
            return queryset
        try:
            year, month = (int(x) for x in value.split("-"))
            date(year, month, 1)
        except ValueError:
            return queryset.none()
        return queryset.filter(created_at__year=year, created_at__month=month)


class MakerFilter(admin.SimpleListFilter):
    """The makers of the requests the user sees (the parameter of Django's related filter, `maker__id__exact`, so
    the home page's links keep working), found by one probe per user on the `maker_id` index instead of
    `DISTINCT maker_id` over every request: the cost follows the users, not the requests."""

    title = _("maker")
    parameter_name = "maker__id__exact"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        made = Exists(model_admin.get_queryset(request).order_by().filter(maker_id=OuterRef("pk")))
        return [(str(user.pk), str(user)) for user in User.objects.filter(made).order_by("email")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[PaymentRequest]) -> QuerySet[PaymentRequest]:
        value = self.value()
        if not value:
            return queryset
        if not (value.isascii() and value.isdigit() and len(value) <= 18):
            return queryset.none()  # a hand-typed id that cannot exist
        return queryset.filter(maker_id=int(value))


class AwaitingMeFilter(admin.SimpleListFilter):
    title = _("my approval queue")
    parameter_name = "awaiting_me"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Awaiting my approval"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[PaymentRequest]) -> QuerySet[PaymentRequest]:
        if self.value() == "yes":
            return selectors.awaiting(admin_user(request), queryset)
        return queryset


# --- payment requests ---------------------------------------------------------------------------------------
CUSTOMIZE_CHAIN = "approvals.customize_chain"
CHAIN_POLICY_NOTE = _(
    "The approval chain comes from the approval flow for the amount, set by the owners; it is "
    "fixed when approval is requested."
)


def may_customize_chain(user: Any) -> bool:
    return bool(user.has_perm(CUSTOMIZE_CHAIN))


def amount_is_typed(obj: PaymentRequest) -> bool:
    """AMOUNT-FROM-INVOICES: only an advanced request without invoices has a typed amount. Remembered on
    the object: the change view asks several times (fieldsets, form, display) for one query at most."""
    if obj.type != PaymentRequestType.ADVANCED:
        return False
    cached = obj.__dict__.get("_admin_has_invoices")
    if cached is None:
        cached = obj.__dict__["_admin_has_invoices"] = PRInvoice.objects.filter(pr=obj).exists()
    return not cached


class PaymentRequestForm(ModelForm):
    # Removed by PaymentRequestAdmin.get_form for whoever may not customise chains.
    flow = forms.ModelChoiceField(
        queryset=ApprovalFlow.objects.filter(is_active=True),
        required=False,
        label=_("approval flow"),
        help_text=_(
            "Empty: the approval flow for the amount gives the chain when approval is requested. Choosing a "
            "flow makes a custom chain, which must still contain every step of the amount's flow; on a "
            "draft it replaces the whole chain."
        ),
    )
    payment_method = forms.ModelChoiceField(
        queryset=PaymentMethod.objects.all(),
        required=False,
        label=_("payment method"),
        help_text=_("Copies its bank details onto the request."),
    )

    class Meta:
        model = PaymentRequest
        fields = ["name", "type", "amount", "currency", "note", "bank_name", "bank_account", "account_name"]
        help_texts = {
            "amount": _(
                "Only for an advanced request without invoices. A direct request, or one with "
                "invoices, is for the total of its invoices."
            )
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "amount" in self.fields:
            self.fields["amount"].required = False  # required for advanced only (clean)
        flow = self.fields.get("flow")
        if isinstance(flow, forms.ModelChoiceField):
            flow.empty_label = _("(the approval flow for the amount)")
            approval = self.instance.approval if self.instance.pk and self.instance.approval_id else None
            if approval is not None and approval.is_custom and approval.flow_id:
                flow.initial = approval.flow_id  # the flow chosen for this request, not an empty choice

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # a ModelForm's clean() returns its cleaned_data (narrows the type)
        if "amount" not in self.fields:
            return data  # derived from the invoices: not in the form at all
        kind = data.get("type") or self.instance.type
        amount = data.get("amount")
        if kind == PaymentRequestType.ADVANCED and amount is None:
            self.add_error("amount", _("An advanced payment request without invoices needs an amount."))
        elif kind == PaymentRequestType.DIRECT and "amount" in self.changed_data and amount:
            self.add_error(
                "amount", _("A direct payment request is for the total of its invoices: leave the amount empty.")
            )
        return data


@admin.register(PaymentRequest)
class PaymentRequestAdmin(
    LargeTableAdminMixin,
    PRPrintMixin,
    PRActionsMixin,
    PRAttachmentsMixin,
    FoldedSearchAdminMixin,
    RefusalRedirectMixin,
    AuditHistoryMixin,
    ServiceCallMixin,
    admin.ModelAdmin,
):
    form = PaymentRequestForm
    list_display = [
        "id",
        "name",
        "type_short",
        "amount_display",
        "payee_name",
        "payee_flag",
        "status_badge",
        "maker",
        "step_display",
        "waiting_for",
        "created_short",
    ]
    list_display_links = ["id", "name"]
    list_filter = ["status", "type", MakerFilter, MonthFilter, AwaitingMeFilter]
    list_select_related = ["maker", "approval"]
    search_fields = PR_SEARCH_FIELDS
    search_document = "search_document"  # the same fields, stored folded and indexed
    ordering = ["-id"]
    show_full_result_count = False
    readonly_fields = [
        "status",
        "maker",
        "payment_reference",
        "completed_at",
        "created_at",
        "updated_at",
        "bank_details_display",
        "chain",
        "invoices_link",
        "attachments",
        "audit_history",
        "amount_display",
        "status_badge",
        "amount_derived",
        "payee_display",
        "preparers_display",
    ]
    # No one-click un-complete: it reverses a payment, so it has its own page with a reason (PR page).
    actions = [
        "approve_selected",
        "reject_selected",
        "complete_selected",
        "request_approval_selected",
        "retract_selected",
        "recall_selected",
    ]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        bank = ["bank_name", "bank_account", "account_name"]
        customize = may_customize_chain(request.user)
        if obj is None:
            return [
                (None, {"fields": ["name", "type", "amount", "currency", "note"]}),
                (_("Approval chain"), {"fields": ["flow"] if customize else [], "description": CHAIN_POLICY_NOTE}),
                (_("Bank details (advanced)"), {"fields": [*bank, "payment_method"]}),
            ]
        editable = self.has_change_permission(request, obj)
        typed = amount_is_typed(obj)
        if editable:
            main = ["name", "type", "amount" if typed else "amount_derived", "currency", "note"]
        else:  # read-only: the amount formatted, the status as its badge
            main = ["name", "type", "amount_display" if typed else "amount_derived", "note"]
        submitted = obj.status != PaymentRequestStatus.DRAFT
        return [
            (None, {"fields": [*main, "status_badge", "maker"]}),
            (_("Bank details"), {"fields": [*bank, *(["payment_method"] if editable else []), "bank_details_display"]}),
            *([(_("Payee (fixed when approval was requested)"), {"fields": ["payee_display"]})] if submitted else []),
            (
                _("Approval chain"),
                {
                    "fields": [*(["flow"] if editable and customize else []), "chain", "preparers_display"],
                    "description": CHAIN_POLICY_NOTE,
                },
            ),
            (_("Invoices"), {"fields": ["invoices_link"]}),
            (_("Attachments"), {"fields": ["attachments"]}),
            (_("Payment"), {"fields": ["payment_reference", "completed_at"]}),
            (_("History"), {"fields": ["created_at", "updated_at", "audit_history"]}),
        ]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if not may_customize_chain(request.user):
            # Declared form fields survive `fields=`: take the flow out of this request's form class.
            form.base_fields.pop("flow", None)
        return form

    def get_queryset(self, request: HttpRequest) -> QuerySet[PaymentRequest]:
        return selectors.payment_requests_visible_to(admin_user(request), super().get_queryset(request))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and (obj is None or obj.status == PaymentRequestStatus.DRAFT)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and (obj is None or obj.status == PaymentRequestStatus.DRAFT)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None) -> Any:
        pr = self.get_queryset(request).filter(pk=object_id).first() if str(object_id).isdigit() else None
        if pr is not None:
            extra_context = {**(extra_context or {}), "pr_actions": available_actions(pr, request.user)}
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200 and str(object_id).isdigit():
            from payments.notifications.services import notifications_mark_read_for_pr

            notifications_mark_read_for_pr(user=request.user, pr_id=int(object_id))  # opening a PR reads its news
        return response

    # --- display ---------------------------------------------------------------------------------------------
    @admin.display(description=_("amount"), ordering="amount")
    def amount_display(self, obj: PaymentRequest) -> SafeString:
        return admin_display.money(obj.amount, obj.currency)

    @admin.display(description=_("amount"))
    def amount_derived(self, obj: PaymentRequest) -> SafeString:
        return format_html(
            '{} <span class="quiet" id="amount-derived">({})</span>',
            admin_display.money(obj.amount, obj.currency),
            _("total of the invoices"),
        )

    @admin.display(description=_("payee"))
    def payee_flag(self, obj: PaymentRequest) -> SafeString | str:
        """NEW-PAYEE-FLAGGED in the lists (the approval queue is this list, filtered): read from the row."""
        if obj.payee_is_new and obj.status != PaymentRequestStatus.DRAFT:
            return admin_display.badge("new_payee", _("New payee"), tone="failed")
        return ""

    @admin.display(description=_("supplier"))
    def payee_name(self, obj: PaymentRequest) -> str:
        """Who is paid: the account holder frozen at approval request, else the one typed on a draft."""
        return obj.payee_account_name or obj.account_name or ""

    @admin.display(description=pgettext_lazy("list column: how long the current step has waited", "waited"))
    def waiting_for(self, obj: PaymentRequest) -> str:
        """How long the current step has waited (since the chain last moved): the approval queue's age."""
        approval = obj.approval
        if obj.status != PaymentRequestStatus.PENDING or approval is None:
            return ""
        return timesince(approval.updated_at, depth=1)

    @admin.display(description=_("payee"))
    def payee_display(self, obj: PaymentRequest) -> SafeString:
        return payee_panel(obj) if obj.pk else SafeString("")

    @admin.display(description=_("prepared by"))
    def preparers_display(self, obj: PaymentRequest) -> SafeString:
        return preparers_panel(obj) if obj.pk else SafeString("")

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: PaymentRequest) -> SafeString:
        return admin_display.status_badge(obj)

    @admin.display(description=_("type"), ordering="type")
    def type_short(self, obj: PaymentRequest) -> str:
        return str(obj.get_type_display()).split(" (")[0]  # the label's explanation is for the form, not the list

    @admin.display(description=_("created at"), ordering="created_at")
    def created_short(self, obj: PaymentRequest) -> str:
        from django.utils.formats import date_format

        return date_format(timezone.localtime(obj.created_at), "SHORT_DATETIME_FORMAT")

    @admin.display(description=_("step"))
    def step_display(self, obj: PaymentRequest) -> str:
        approval = getattr(obj, "approval", None)
        if approval is None or obj.status == PaymentRequestStatus.DRAFT:
            return "—"
        return str(approval.current_step)

    @admin.display(description=_("pays to"))
    def bank_details_display(self, obj: PaymentRequest) -> SafeString:
        from django.db.models import Prefetch, prefetch_related_objects

        from payments.models import PRInvoice

        # the selector reads pr.invoice_links; one query for all of them instead of one per invoice
        prefetch_related_objects([obj], Prefetch("invoice_links", queryset=PRInvoice.objects.select_related("invoice")))
        details = payment_request_bank_details(obj)
        flags = []
        if details.missing:
            flags.append(str(_("missing")))
        if details.conflict:
            flags.append(str(_("invoices name different accounts")))
        return format_html(
            "{} · {} · {}{}",
            details.account_name or "—",
            details.bank_account or "—",
            details.bank_name or "—",
            format_html(' <strong style="color:#ba2121">({})</strong>', ", ".join(flags)) if flags else "",
        )

    @admin.display(description=_("approval chain"))
    def chain(self, obj: PaymentRequest) -> SafeString:
        return chain_panel(obj) if obj.pk else SafeString("")

    @admin.display(description=_("attachments"))
    def attachments(self, obj: PaymentRequest) -> SafeString:
        request = current_request()
        return attachments_panel(obj, request.user) if obj.pk and request is not None else SafeString("")

    # --- invoices page (link / unlink through payments.services) ----------------------------------------------
    def get_urls(self) -> list[Any]:
        from django.urls import path

        return [
            path(
                "<int:object_id>/invoices/",
                self.admin_site.admin_view(self.invoices_view),
                name="payments_paymentrequest_invoices",
            ),
            *super().get_urls(),
        ]

    @admin.display(description=_("invoices"))
    def invoices_link(self, obj: PaymentRequest) -> SafeString:
        if obj.pk is None:
            return SafeString("")
        request = current_request()
        editable = (
            request is not None
            and obj.status == PaymentRequestStatus.DRAFT
            and self.has_change_permission(request, obj)
        )
        return invoices_panel(obj, editable=editable)

    def invoices_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        from django.core.exceptions import PermissionDenied
        from django.shortcuts import get_object_or_404

        from invoices.models import Invoice, InvoiceStatus
        from invoices.selectors import INVOICE_SEARCH_FIELDS
        from payments import services as payment_services
        from payments.models import PRInvoice

        pr = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_view_permission(request, pr):
            raise PermissionDenied
        editable = pr.status == PaymentRequestStatus.DRAFT and self.has_change_permission(request, pr)
        if request.method == "POST":
            if not editable:
                raise PermissionDenied
            op = request.POST.get("op")
            ids = [int(v) for v in request.POST.getlist("invoice") if v.isdigit()]
            done = 0
            for invoice in Invoice.objects.filter(pk__in=ids).order_by("pk"):
                if op == "link":
                    ok = self.call_service(
                        request, payment_services.invoice_link, invoice=invoice, pr=pr, actor=request.user
                    )
                else:
                    ok = self.call_service(
                        request, payment_services.invoice_unlink, invoice=invoice, actor=request.user
                    )
                done += ok is not None
            if done:
                self.message_user(
                    request,
                    ngettext("%(count)d invoice updated.", "%(count)d invoices updated.", done) % {"count": done},
                    messages.SUCCESS,
                )
            return HttpResponseRedirect(request.get_full_path())
        q = request.GET.get("q", "").strip()[:100]
        month = request.GET.get("month", "").strip()[:7]
        free = Invoice.objects.filter(status=InvoiceStatus.IMPORTED, pr_link__isnull=True)
        free = search_filter(free, q, INVOICE_SEARCH_FIELDS, document="search_document")  # as the invoice list
        if len(month) == 7 and month[:4].isdigit() and month[5:].isdigit() and 1 <= int(month[5:]) <= 12:
            free = free.filter(issue_date__year=int(month[:4]), issue_date__month=int(month[5:]))
        return TemplateResponse(
            request,
            "admin/payments/pr_invoices.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "pr": pr,
                "editable": editable,
                "title": _("Invoices of %(pr)s") % {"pr": pr},
                "q": q,
                "month": month,
                "links": PRInvoice.objects.filter(pr=pr).select_related("invoice").order_by("id"),
                "free": free.order_by("-issue_date", "-id")[:200],
            },
        )

    # --- saving through the services -------------------------------------------------------------------------
    def save_model(self, request: HttpRequest, obj: PaymentRequest, form: ModelForm, change: bool) -> None:
        data = form.cleaned_data
        if "flow" not in form.fields and request.POST.get("flow"):
            # A forged field: the form never offered it. The policy's own refusal, nothing saved.
            self._call_or_refuse(policy.ensure_may_customize, actor=request.user)
        fields = {k: data[k] for k in PaymentRequestForm.Meta.fields if k in data}
        extra: dict[str, Any] = {}
        if change:
            if "flow" in form.changed_data:  # chosen, changed, or emptied (back to the amount's flow)
                extra["flow"] = data.get("flow")
        elif data.get("flow"):
            extra["flow"] = data["flow"]
        if change:
            fields = {k: v for k, v in fields.items() if k in form.changed_data}
            saved = self._call_or_refuse(
                services.payment_request_update,
                pr=obj,
                actor=request.user,
                payment_method=data.get("payment_method"),
                **extra,
                **fields,
            )
        else:
            if fields.get("type") == PaymentRequestType.DIRECT:
                fields["amount"] = None  # the total of the invoices linked next
            saved = self._call_or_refuse(
                services.payment_request_create,
                actor=request.user,
                payment_method=data.get("payment_method"),
                **extra,
                **fields,
            )
        obj.pk = saved.pk

    def save_related(self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool) -> None:
        """Inlines are read-only; nothing to save."""

    def delete_model(self, request: HttpRequest, obj: PaymentRequest) -> None:
        self._call_or_refuse(services.payment_request_delete, pr=obj, actor=request.user)

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except ServiceRefused as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(request.get_full_path())

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[PaymentRequest]) -> None:
        for pr in queryset.order_by("id"):
            self.call_service(request, services.payment_request_delete, pr=pr, actor=request.user)

    # --- actions -----------------------------------------------------------------------------------------------
    def _report(self, request: HttpRequest, done: int, verb: str) -> None:
        if done:
            self.message_user(
                request,
                ngettext("%(count)d payment request %(verb)s.", "%(count)d payment requests %(verb)s.", done)
                % {"count": done, "verb": verb},
                messages.SUCCESS,
            )

    def _each(
        self, request: HttpRequest, queryset: QuerySet[PaymentRequest], fn: Any, verb: str, **kwargs: Any
    ) -> None:
        done = 0
        for pr in queryset.order_by("id"):
            if self.call_service(request, fn, pr=pr, actor=request.user, **kwargs) is not None:
                done += 1
        self._report(request, done, verb)

    def _intermediate(
        self,
        request: HttpRequest,
        queryset: QuerySet[PaymentRequest],
        form: forms.Form,
        action: str,
        title: str,
        intro: str,
        submit: str,
    ) -> TemplateResponse:
        return TemplateResponse(
            request,
            "admin/payments/action_form.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": title,
                "intro": intro,
                "form": form,
                "queryset": queryset.order_by("id"),
                "action": action,
                "submit_label": submit,
            },
        )

    @admin.action(description=_("Approve selected payment requests"))
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[PaymentRequest]) -> None:
        result = self.call_service(
            request,
            services.payment_requests_bulk_approve,
            ids=list(queryset.values_list("pk", flat=True)),
            actor=request.user,
        )
        if result is None:
            return
        self._report(request, len(result.approved), str(_("approved")))
        for failure in result.failed:
            messages.error(request, f"#{failure['id']}: {failure['message']} ({failure['code']})")

    @admin.action(description=_("Reject selected payment requests (with a reason)…"))
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[PaymentRequest]) -> Any:
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            self._each(
                request,
                queryset,
                services.payment_request_reject,
                str(_("rejected")),
                reason=form.cleaned_data["reason"],
            )
            return None
        return self._intermediate(
            request,
            queryset,
            form,
            "reject_selected",
            str(_("Reject payment requests")),
            str(_("They go back to draft and their approvals are cleared. The maker sees your reason.")),
            str(_("Reject")),
        )

    @admin.action(description=_("Complete selected payment requests (paid)…"))
    def complete_selected(self, request: HttpRequest, queryset: QuerySet[PaymentRequest]) -> Any:
        form = ReferenceForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            self._each(
                request,
                queryset,
                services.payment_request_complete,
                str(_("completed")),
                payment_reference=form.cleaned_data["payment_reference"],
            )
            return None
        return self._intermediate(
            request,
            queryset,
            form,
            "complete_selected",
            str(_("Complete payment requests")),
            str(_("Record that the bank paid them; their invoices become completed.")),
            str(_("Complete")),
        )

    @admin.action(description=_("Request approval for selected drafts"))
    def request_approval_selected(self, request: HttpRequest, queryset: QuerySet[PaymentRequest]) -> None:
        self._each(request, queryset, services.payment_request_request_approval, str(_("sent for approval")))

    @admin.action(description=_("Retract my approval on selected payment requests"))
    def retract_selected(self, request: HttpRequest, queryset: QuerySet[PaymentRequest]) -> None:
        self._each(request, queryset, services.payment_request_retract, str(_("retracted")))

    @admin.action(description=_("Recall selected payment requests to draft"))
    def recall_selected(self, request: HttpRequest, queryset: QuerySet[PaymentRequest]) -> None:
        self._each(request, queryset, services.payment_request_recall, str(_("recalled")))

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not request.user.has_perm("payments.delete_paymentrequest"):
            actions.pop("delete_selected", None)
        if not request.user.has_perm("payments.complete_paymentrequest"):
            actions.pop("complete_selected", None)
        return actions
