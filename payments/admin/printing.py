"""Printing payment requests from the back office (docs/admin.md, "Printing"): the payment request form
(Mẫu số 05-TT) of one request as a print page (`<id>/print/`) and a PDF (`<id>/print.pdf`), and the forms of
every request completed in a month, one per page (`print/month/`, `print/month/<YYYY-MM>/`, `….pdf`).

Whoever may see a request may print it (`payments.selectors.payment_requests_visible_to`: anyone else gets a
404, as for a missing one); the month's batch is for holders of `payments.view_paymentrequest`. Read-only: no
service is called. Where the PDF cannot be made (WeasyPrint's system libraries missing) the PDF views answer a
translated page saying so, with a link to the print page, never a 500.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from accounts.authentication import admin_user
from acountee.errors import ValidationFailed
from acountee.months import Month, parse_month
from payments import printing, selectors
from payments.models import PaymentRequest

VIEW = "payments.view_paymentrequest"
MONTHS_OFFERED = 24


def month_label(month: Month) -> str:
    return f"{month.month:02d}/{month.year:04d}"


def recent_months(count: int = MONTHS_OFFERED) -> list[Month]:
    today = timezone.localdate()
    year, month, out = today.year, today.month, []
    for _i in range(count):
        out.append(Month(year, month))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out


class PRPrintMixin:
    """The print views of the payment request admin (mixed into `PaymentRequestAdmin`)."""

    admin_site: AdminSite  # of the ModelAdmin this is mixed into

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("<int:object_id>/print/", view(self.print_view), name="payments_paymentrequest_print"),
            path("<int:object_id>/print.pdf", view(self.print_pdf_view), name="payments_paymentrequest_print_pdf"),
            path("print/month/", view(self.print_month_view), name="payments_paymentrequest_print_month"),
            path(
                "print/month/<str:month>/",
                view(self.print_month_forms_view),
                name="payments_paymentrequest_print_month_forms",
            ),
            path(
                "print/month/<str:month>.pdf",
                view(self.print_month_pdf_view),
                name="payments_paymentrequest_print_month_pdf",
            ),
            *super().get_urls(),  # type: ignore[misc]
        ]

    # --- one request -------------------------------------------------------------------------------------------
    def _printable(self, request: HttpRequest, object_id: int) -> PaymentRequest:
        pr = selectors.payment_request_print(user=admin_user(request)).filter(pk=object_id).first()
        if pr is None:
            raise Http404  # missing, or not the user's to see: the same answer
        return pr

    def print_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        pr = self._printable(request, object_id)
        links = {
            "pdf": reverse("admin:payments_paymentrequest_print_pdf", args=[pr.pk]),
            "back": reverse("admin:payments_paymentrequest_change", args=[pr.pk]),
        }
        html = printing.render_document([pr], title=_form_title(pr), pdf=False, user=request.user, links=links)
        return HttpResponse(html)

    def print_pdf_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        pr = self._printable(request, object_id)
        return self._pdf(
            request,
            [pr],
            title=_form_title(pr),
            filename=f"de-nghi-thanh-toan-{pr.pk}.pdf",
            html_url=reverse("admin:payments_paymentrequest_print", args=[pr.pk]),
        )

    # --- a month of completed requests -------------------------------------------------------------------------
    def _month(self, request: HttpRequest, value: str) -> Month:
        if not request.user.has_perm(VIEW):
            raise PermissionDenied
        try:
            return parse_month(value)
        except ValidationFailed:
            raise Http404 from None

    def print_month_view(self, request: HttpRequest) -> HttpResponse:
        """The page to choose a month: the requests completed in it, and the links to print them all."""
        if not request.user.has_perm(VIEW):
            raise PermissionDenied
        offered = recent_months()
        raw = request.GET.get("month", "").strip()[:7]
        month: Month | None = offered[1] if not raw else None  # last month: the usual period-end batch
        error = ""
        if raw:
            try:
                month = parse_month(raw)
            except ValidationFailed:
                error = _("Choose a month (YYYY-MM).")
        rows = list(selectors.payment_requests_completed_in(user=admin_user(request), month=month)) if month else []
        return TemplateResponse(
            request,
            "admin/payments/print/month.html",
            {
                **self.admin_site.each_context(request),
                "opts": PaymentRequest._meta,
                "title": _("Print the payment requests completed in a month"),
                "months": [(str(m), month_label(m)) for m in offered],
                "month": str(month) if month else "",
                "month_label": month_label(month) if month else "",
                "error": error,
                "rows": rows,
                "pdf_url": reverse("admin:payments_paymentrequest_print_month_pdf", args=[str(month)]) if month else "",
                "forms_url": reverse("admin:payments_paymentrequest_print_month_forms", args=[str(month)])
                if month
                else "",
            },
        )

    def print_month_forms_view(self, request: HttpRequest, month: str) -> HttpResponse:
        chosen = self._month(request, month)
        prs = list(selectors.payment_requests_completed_in(user=admin_user(request), month=chosen))
        links = {
            "pdf": reverse("admin:payments_paymentrequest_print_month_pdf", args=[str(chosen)]),
            "back": reverse("admin:payments_paymentrequest_print_month") + f"?month={chosen}",
        }
        html = printing.render_document(prs, title=_month_title(chosen), pdf=False, user=request.user, links=links)
        return HttpResponse(html)

    def print_month_pdf_view(self, request: HttpRequest, month: str) -> HttpResponse:
        chosen = self._month(request, month)
        prs = list(selectors.payment_requests_completed_in(user=admin_user(request), month=chosen))
        return self._pdf(
            request,
            prs,
            title=_month_title(chosen),
            filename=f"de-nghi-thanh-toan-{chosen}.pdf",
            html_url=reverse("admin:payments_paymentrequest_print_month_forms", args=[str(chosen)]),
        )

    # --- PDF ----------------------------------------------------------------------------------------------------
    def _pdf(
        self, request: HttpRequest, prs: list[PaymentRequest], *, title: str, filename: str, html_url: str
    ) -> HttpResponse:
        html = printing.render_document(prs, title=title, pdf=True, user=request.user)
        try:
            data = printing.render_pdf(html)
        except printing.PdfUnavailable:
            return TemplateResponse(
                request,
                "admin/payments/print/pdf_unavailable.html",
                {
                    **self.admin_site.each_context(request),
                    "opts": PaymentRequest._meta,
                    "title": _("The PDF cannot be made on this server"),
                    "html_url": html_url,
                },
                status=503,
            )
        response = HttpResponse(data, content_type="application/pdf")
        response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
        return response


def _form_title(pr: PaymentRequest) -> str:
    return _("Payment request form #%(id)d — %(name)s") % {"id": pr.pk, "name": pr.name}


def _month_title(month: Month) -> str:
    return _("Payment request forms of the requests completed in %(month)s") % {"month": month_label(month)}
