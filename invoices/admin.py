"""The finance back office for invoices: list, filters, search, line items, source file,
bulk mark obsolete / restore, and the import page. Every write goes through services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from acountee import admin_display
from acountee.admin_mixins import ServiceCallMixin
from acountee.db.counts import LargeTableAdminMixin
from acountee.errors import NotFoundError
from acountee.search import FoldedSearchAdminMixin
from audit.admin import AuditHistoryMixin
from invoices import presentation, selectors, services
from invoices.findings import findings_texts
from invoices.models import Invoice, InvoiceStatus, RelatedMatch, SignatureStatus
from invoices.signature_texts import chain_text, reason_text


def status_label(value: str) -> str:
    """A stored signature outcome as people read it (an unknown value as written)."""
    return str(SignatureStatus(value).label) if value in SignatureStatus.values else value


class LinkedFilter(admin.SimpleListFilter):
    title = _("payment request")
    parameter_name = "linked"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("true", _("in a payment request")), ("false", _("not in a payment request"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> QuerySet[Invoice]:
        if self.value() in ("true", "false"):
            if services.pr_link_available():
                return queryset.filter(pr_link__isnull=self.value() == "false")
            return queryset.none() if self.value() == "true" else queryset
        return queryset


class FindingsFilter(admin.SimpleListFilter):
    """Invoices whose lines, per-rate summary and header disagree (issue 18)."""

    title = _("consistency")
    parameter_name = "findings"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("true", _("with findings")), ("false", _("lines, summary and header agree"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> QuerySet[Invoice]:
        if self.value() == "true":
            return queryset.exclude(consistency_findings=[])
        if self.value() == "false":
            return queryset.filter(consistency_findings=[])
        return queryset


class ImportedFilter(admin.SimpleListFilter):
    """When the invoice arrived (import time, not issue date): the home page links to this month's."""

    title = _("imported")
    parameter_name = "imported"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("today", _("today")), ("this_month", _("this month")), ("last_month", _("last month"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> QuerySet[Invoice]:
        from datetime import timedelta

        today = timezone.localdate()
        first = today.replace(day=1)
        if self.value() == "today":
            return queryset.filter(created_at__date=today)
        if self.value() == "this_month":
            return queryset.filter(created_at__date__gte=first)
        if self.value() == "last_month":
            return queryset.filter(
                created_at__date__gte=(first - timedelta(days=1)).replace(day=1), created_at__date__lt=first
            )
        return queryset


class AmountFilter(admin.SimpleListFilter):
    """Total payable in VND bands (the API takes any min/max; the list offers the usual bands)."""

    title = _("total payable")
    parameter_name = "amount"
    BANDS = {"lt10m": (None, 10_000_000), "10m-100m": (10_000_000, 100_000_000), "gte100m": (100_000_000, None)}

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("lt10m", _("under 10 million")),
            ("10m-100m", _("10 to 100 million")),
            ("gte100m", _("100 million and more")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> QuerySet[Invoice]:
        band = self.BANDS.get(self.value() or "")
        if band is None:
            return queryset
        low, high = band
        if low is not None:
            queryset = queryset.filter(total_payable__gte=low)
        if high is not None:
            queryset = queryset.filter(total_payable__lt=high)
        return queryset


class SupplierFilter(admin.SimpleListFilter):
    """By the seller's tax code, typed in a box: listing the suppliers read the whole table on every page view
    (`DISTINCT ON (seller_tax_code)`, and still showed only the first 200). The chosen supplier is named from one
    of its invoices (the `(seller_tax_code, …)` unique index); the search box finds suppliers by name."""

    title = _("supplier")
    parameter_name = "supplier_tax_code"
    template = "admin/invoices/invoice/supplier_filter.html"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        code = self.value()
        if not code:
            return []
        names = Invoice.objects.filter(seller_tax_code=code).order_by().values_list("seller_name", flat=True)[:1]
        name = next(iter(names), None)
        return [(code, f"{name[:50]} ({code})" if name else code)]

    def has_output(self) -> bool:
        return True

    def choices(self, changelist: Any) -> Any:
        # The box's form keeps the list's other parameters (search, filters, order), as the filter links do; the
        # template reads them from the filter (`spec`, made for this request).
        self.hidden_params = [(k, v) for k, v in changelist.params.items() if k != self.parameter_name]
        return super().choices(changelist)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> QuerySet[Invoice]:
        return queryset.filter(seller_tax_code=self.value()) if self.value() else queryset


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> Any:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class SignatureOverrideForm(forms.Form):
    reason = forms.CharField(
        label=_("Why may it be paid all the same?"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        max_length=services.SIGNATURE_OVERRIDE_REASON_MAX,
        help_text=_("For example: the seller confirmed the amount in writing and sent the original again."),
    )


class ImportForm(forms.Form):
    files = MultipleFileField(
        label=_("XML files or ZIP archives"),
        help_text=_("Select one or more e-invoice XML files and/or ZIP archives of them."),
    )


@admin.register(Invoice)
class InvoiceAdmin(LargeTableAdminMixin, FoldedSearchAdminMixin, AuditHistoryMixin, ServiceCallMixin, admin.ModelAdmin):
    list_display = [
        "invoice_no",
        "issue_date_short",
        "seller_name",
        "seller_tax_code",
        "total_display",
        "status_badge",
        "flags",
        "imported_short",
    ]
    list_display_links = ["invoice_no"]
    list_filter = [
        "status",
        LinkedFilter,
        FindingsFilter,
        ImportedFilter,
        AmountFilter,
        SupplierFilter,
        "buyer_tax_code_mismatch",
        "superseded_while_linked",
        "related_match",
        "seller_signature",
        "tax_authority_signature",
        "seller_certificate_matches",
    ]
    date_hierarchy = "issue_date"
    search_fields = selectors.INVOICE_SEARCH_FIELDS
    search_document = "search_document"  # the same fields, stored folded and indexed
    list_per_page = 50
    show_full_result_count = False
    actions = ["mark_obsolete", "restore"]
    # The invoice itself (header, parties, lines, summary, totals, words, related invoices) is drawn from
    # invoices.presentation by the change form template, as the tax authority's portal shows it; these fieldsets
    # are what the back office adds around it. payments.admin.invoices inserts "Payment request" after the first.
    fieldsets = [
        (_("Status"), {"fields": ["status_badge", "flags"]}),
        (
            _("Payment details"),
            {"fields": ["payment_type", "payment_bank_name", "payment_bank_account", "payment_account_name"]},
        ),
        (
            _("Signatures"),
            {
                "fields": [
                    "signatures_display",
                    "seller_certificate_tax_code",
                    "seller_certificate_matches",
                    "signature_override_reason",
                    "signature_override_by",
                    "signature_override_at",
                ]
            },
        ),
        (_("Consistency"), {"fields": ["consistency_display"]}),
        (
            _("Technical details"),
            {"classes": ["collapse"], "fields": ["source_file_link", "technical_display"]},
        ),
        (_("History"), {"fields": ["audit_history"]}),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        names = [f for fs in self.fieldsets for f in fs[1]["fields"]]
        if obj is not None and obj.status != InvoiceStatus.COMPLETED and self.has_change_permission(request, obj):
            # Payment details are the one thing finance edits here (through the service).
            return [name for name in names if name not in services.PAYMENT_DETAIL_FIELDS]
        return names

    def save_model(self, request: HttpRequest, obj: Invoice, form: Any, change: bool) -> None:
        changes = {
            name: form.cleaned_data[name] for name in form.changed_data if name in services.PAYMENT_DETAIL_FIELDS
        }
        if changes:
            self.call_service(
                request, services.invoice_payment_details_update, invoice=obj, actor=request.user, **changes
            )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Invoice]:
        return selectors.invoice_base_queryset()

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Invoice | None:
        """The change page reads the invoice with its lines, corrections and the people it names at once
        (selectors.invoice_page_queryset), so the page runs a fixed number of queries."""
        if from_field not in (None, "id", "pk") or not str(object_id).isdigit():
            return super().get_object(request, object_id, from_field)
        return selectors.invoice_page_queryset().filter(pk=int(object_id)).first()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # invoices come from import only

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the audit trail keeps them; obsolete is the way out

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: Invoice) -> str:
        return admin_display.status_badge(obj)

    @admin.display(description=_("invoice"), ordering="number_int")
    def invoice_no(self, obj: Invoice) -> str:
        return f"{obj.series} {obj.number}"

    @admin.display(description=_("issue date"), ordering="issue_date")
    def issue_date_short(self, obj: Invoice) -> str:
        return date_format(obj.issue_date, "SHORT_DATE_FORMAT") if obj.issue_date else "—"

    @admin.display(description=_("imported"), ordering="created_at")
    def imported_short(self, obj: Invoice) -> str:
        return date_format(timezone.localtime(obj.created_at), "SHORT_DATETIME_FORMAT")

    @admin.display(description=_("total payable"), ordering="total_payable")
    def total_display(self, obj: Invoice) -> str:
        return admin_display.money(obj.total_payable, obj.currency)

    @admin.display(description=_("flags"))
    def flags(self, obj: Invoice) -> str:
        notes = []
        verdict = selectors.invoice_payment_eligibility(invoice=obj)
        if verdict.code and not verdict.overridden:
            notes.append(str(_("SIGNATURE CHECK FAILED")))
        elif verdict.overridden:
            notes.append(str(_("signature check overridden")))
        if obj.buyer_tax_code_mismatch:
            notes.append(str(_("buyer tax code is not ours")))
        if obj.superseded_while_linked:
            notes.append(str(_("replaced while in a PR")))
        if obj.consistency_findings:
            notes.append(str(_("%(n)s consistency finding(s)")) % {"n": len(obj.consistency_findings)})
        if obj.related_kind:
            notes.append(str(obj.get_related_kind_display()))
        if obj.related_match in (RelatedMatch.AMBIGUOUS, RelatedMatch.NOT_FOUND):
            notes.append(str(obj.get_related_match_display()))
        return "; ".join(notes)

    @admin.display(description=_("signature details"))
    def signatures_display(self, obj: Invoice) -> str:
        details = obj.signature_details or {}
        rows = []
        for party, label in (("seller", _("Seller")), ("tax_authority", _("Tax authority"))):
            check = details.get(party) or {}
            if not check:
                continue
            validity = ""
            if check.get("not_before"):
                validity = f"{check.get('not_before', '')[:10]} → {check.get('not_after', '')[:10]}"
            rows.append(
                format_html(
                    "<tr><th>{}</th><td><strong>{}</strong> {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                    "<td>{}</td></tr>",
                    label,
                    status_label(check.get("status", "")),
                    reason_text(check.get("code", "")),
                    check.get("subject", ""),
                    check.get("serial", ""),
                    validity,
                    check.get("signing_time") or _("issue date used"),
                    chain_text(check.get("chain", "not_checked")),
                )
            )
        if not rows:
            return str(_("Not checked (imported before signature verification, or verification is off)."))
        verdict = selectors.invoice_payment_eligibility(invoice=obj)
        warning = format_html('<p class="errornote">{}</p>', verdict.message) if verdict.code else ""
        return format_html(
            "{}<table><thead><tr><th></th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>"
            "</thead><tbody>{}</tbody></table>",
            warning,
            _("outcome"),
            _("certificate subject"),
            _("serial"),
            _("validity"),
            _("signing time"),
            _("chain trust"),
            format_html_join("", "{}", ((row,) for row in rows)),
        )

    @admin.display(description=_("consistency findings"))
    def consistency_display(self, obj: Invoice) -> str:
        texts = findings_texts(obj.consistency_findings, obj.currency)
        if not texts:
            return str(_("None: the lines, the per-rate summary and the header agree."))
        items = format_html_join("", "<li>{}</li>", ((text,) for text in texts))
        return format_html(
            '<ul class="errorlist">{}</ul><p class="help">{}</p>',
            items,
            _("The amount payable is the header's TgTTTBSo whatever the lines add up to."),
        )

    @admin.display(description=_("recorded with the invoice"))
    def technical_display(self, obj: Invoice) -> str:
        return render_to_string(
            "admin/invoices/invoice/technical.html",
            {"technical": presentation.technical(obj, lines=obj.services.all())},
        )

    @admin.display(description=_("source file"))
    def source_file_link(self, obj: Invoice) -> str:
        if not obj.source_file_id:
            return "—"
        try:
            url = reverse("admin:files_storedfile_change", args=[obj.source_file_id])
        except Exception:
            url = f"/api/files/{obj.source_file_id}/content/"
        return format_html('<a href="{}">{}</a>', url, obj.source_file.original_name)

    @admin.action(description=_("Mark selected invoices obsolete…"), permissions=["change"])
    def mark_obsolete(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> HttpResponse | None:
        """Setting invoices aside takes them out of what waits to be paid: a page first says which invoices will
        become obsolete and which cannot (in a payment request, completed), like Django's delete confirmation;
        only its POST (`post=yes`) marks them, through the service, which decides again under lock."""
        ids = list(queryset.values_list("pk", flat=True))
        if request.POST.get("post") == "yes":
            result = self.call_service(request, services.invoices_bulk_mark_obsolete, ids=ids, actor=request.user)
            self._report(request, result, _("%(n)s invoice(s) marked obsolete."))
            return None
        preview = selectors.invoices_obsolete_preview(ids=ids)
        return TemplateResponse(
            request,
            "admin/invoices/invoice/mark_obsolete_confirmation.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Mark invoices obsolete?"),
                "preview": preview,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(description=_("Restore selected obsolete invoices"), permissions=["change"])
    def restore(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        result = self.call_service(
            request, services.invoices_bulk_restore, ids=list(queryset.values_list("pk", flat=True)), actor=request.user
        )
        self._report(request, result, _("%(n)s invoice(s) restored."))

    def _report(self, request: HttpRequest, result: dict[str, list[Any]] | None, done_message: Any) -> None:
        if result is None:
            return  # refused as a whole: call_service showed why
        if result["done"]:
            messages.success(request, done_message % {"n": len(result["done"])})
        for failure in result["failed"][:20]:
            messages.error(request, f"#{failure['id']}: {failure['message']}")

    # --- the import page

    def get_urls(self) -> list[Any]:
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="invoices_invoice_import"),
            path(
                "<int:object_id>/signature-override/",
                self.admin_site.admin_view(self.signature_override_view),
                name="invoices_invoice_signature_override",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "can_import": request.user.has_perm("invoices.add_invoice")}
        return super().changelist_view(request, extra_context=extra_context)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Invoice | None = None,
    ) -> HttpResponse:
        if obj is not None and getattr(request.user, "is_owner", False):
            verdict = selectors.invoice_payment_eligibility(invoice=obj)
            context["may_override_signature"] = bool(verdict.code) and not verdict.overridden
        if obj is not None:
            context["invoice_page"] = presentation.invoice_page(
                obj,
                lines=obj.services.all(),
                corrections=obj.corrections.all(),
                change_url=lambda pk: reverse("admin:invoices_invoice_change", args=[pk]),
            )
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def signature_override_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """An owner lets an invoice that fails the signature check be paid all the same, saying why
        (invoices.services.invoice_signature_override: audited)."""
        if not getattr(request.user, "is_owner", False):
            raise PermissionDenied
        try:
            invoice = selectors.invoice_get(invoice_id=object_id)
        except NotFoundError:
            raise Http404 from None
        verdict = selectors.invoice_payment_eligibility(invoice=invoice)
        form = SignatureOverrideForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            done = self.call_service(
                request,
                services.invoice_signature_override,
                invoice=invoice,
                actor=request.user,
                reason=form.cleaned_data["reason"],
            )
            if done is not None:
                messages.success(request, _("The signature check of this invoice is overridden: it may be paid."))
                return redirect("admin:invoices_invoice_change", object_id)
        return TemplateResponse(
            request,
            "admin/invoices/invoice/signature_override.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Override the signature check"),
                "original": invoice,
                "verdict": verdict,
                "form": form,
            },
        )

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("invoices.add_invoice"):
            raise PermissionDenied
        report = None
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            uploads = [(upload.name or "upload", upload) for upload in form.cleaned_data["files"]]
            report = self.call_service(request, services.invoices_import, uploads=uploads, actor=request.user)
            if report is not None:
                counts = report.counts()
                level = messages.ERROR if counts["failure"] else messages.SUCCESS
                messages.add_message(
                    request,
                    level,
                    _("%(success)s imported, %(skipped)s skipped (duplicates), %(failure)s failed.")
                    % {name: number_format(count, force_grouping=True) for name, count in counts.items()},
                )
                form = ImportForm()
        return TemplateResponse(
            request,
            "admin/invoices/invoice/import.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Import e-invoices"),
                "form": form,
                "report": report,
            },
        )
