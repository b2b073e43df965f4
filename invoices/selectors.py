"""Reads of invoices: the querysets with their joins, so lists run a fixed number of queries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from acountee.errors import NotFoundError, ValidationFailed
from invoices.models import INVOICE_SEARCH_FIELDS as INVOICE_SEARCH_FIELDS  # the admin's search reads it here
from invoices.models import Invoice, InvoiceService


def _pr_link_available() -> bool:
    return any(f.name == "pr_link" for f in Invoice._meta.get_fields())


def invoice_base_queryset() -> QuerySet[Invoice]:
    qs = Invoice.objects.select_related("source_file", "original")
    if _pr_link_available():
        qs = qs.select_related("pr_link")
    return qs


def invoice_list_queryset() -> QuerySet[Invoice]:
    """The invoice list before its filters (invoices.filters.InvoiceFilter): newest first."""
    return invoice_base_queryset().order_by("-issue_date", "-id")


def invoice_list(*, filters: Mapping[str, Any] | None = None) -> QuerySet[Invoice]:
    """The list filtered as the API filters it (invoices.filters.InvoiceFilter); a bad filter is a
    ValidationFailed naming every bad parameter."""
    from invoices.filters import InvoiceFilter  # it reads the link check below

    filterset = InvoiceFilter(data=filters or {}, queryset=invoice_list_queryset())
    if not filterset.is_valid():
        errors = filterset.errors
        raise ValidationFailed(details={name: [e["message"] for e in errors[name].get_json_data()] for name in errors})
    filtered: QuerySet[Invoice] = filterset.qs
    return filtered


def invoice_detail_queryset() -> QuerySet[Invoice]:
    return invoice_base_queryset().prefetch_related(
        Prefetch("services", queryset=InvoiceService.objects.order_by("position"))
    )


def invoice_get(*, invoice_id: int) -> Invoice:
    try:
        return invoice_detail_queryset().get(pk=invoice_id)
    except (Invoice.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(_("Invoice not found."), code="INVOICE_NOT_FOUND") from None


def invoice_pr_id(invoice: Invoice) -> int | None:
    """The PR the invoice is linked to, or None (works before the payments app exists)."""
    if not _pr_link_available():
        return None
    try:
        link = invoice.pr_link
    except Exception:  # RelatedObjectDoesNotExist
        return None
    return getattr(link, "pr_id", None)
