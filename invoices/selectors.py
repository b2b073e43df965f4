"""Reads of invoices: the querysets with their joins, so lists run a fixed number of queries."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from acountee.errors import NotFoundError, ValidationFailed
from acountee.months import parse_month
from acountee.search import search_filter
from invoices.models import INVOICE_SEARCH_FIELDS, Invoice, InvoiceService, InvoiceStatus

# NUL cannot reach PostgreSQL text at all; other C0 controls never belong in a filter either.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def _pr_link_available() -> bool:
    return any(f.name == "pr_link" for f in Invoice._meta.get_fields())


def invoice_base_queryset() -> QuerySet[Invoice]:
    qs = Invoice.objects.select_related("source_file", "original")
    if _pr_link_available():
        qs = qs.select_related("pr_link")
    return qs


def invoice_list(*, filters: dict[str, Any] | None = None) -> QuerySet[Invoice]:
    """Filters (all optional): status, month (YYYY-MM of the issue date), supplier_tax_code,
    q (words found, accents and case ignored, in the supplier name or tax code, series, number or
    MCCQT), linked (true/false), amount_min, amount_max."""
    filters = filters or {}
    qs = invoice_base_queryset()
    errors: dict[str, list[str]] = {}

    status = (filters.get("status") or "").strip()
    if status:
        if status not in InvoiceStatus.values:
            errors["status"] = [_("Unknown status.")]
        else:
            qs = qs.filter(status=status)

    month = (filters.get("month") or "").strip()
    if month:
        try:
            qs = qs.filter(parse_month(month).date_filter("issue_date"))
        except ValidationFailed as exc:
            errors.update(exc.details)

    supplier = (filters.get("supplier_tax_code") or "").strip()
    if _CONTROL_RE.search(supplier):
        errors["supplier_tax_code"] = [_("Control characters are not allowed.")]
    elif supplier:
        qs = qs.filter(seller_tax_code=supplier[:20])

    text = (filters.get("q") or "").strip()[:200]
    if _CONTROL_RE.search(text):
        errors["q"] = [_("Control characters are not allowed.")]
    elif text:
        qs = search_filter(qs, text, INVOICE_SEARCH_FIELDS, document="search_document")

    linked = filters.get("linked")
    if linked not in (None, ""):
        value = str(linked).strip().lower()
        if value not in {"true", "false", "1", "0", "yes", "no"}:
            errors["linked"] = [_("Use true or false.")]
        elif _pr_link_available():
            qs = qs.filter(pr_link__isnull=value not in {"true", "1", "yes"})
        elif value in {"true", "1", "yes"}:
            qs = qs.none()

    for name, lookup in (("amount_min", "total_payable__gte"), ("amount_max", "total_payable__lte")):
        raw = filters.get(name)
        if raw in (None, ""):
            continue
        try:
            amount = Decimal(str(raw).strip())
            if not amount.is_finite() or abs(amount) >= Decimal("1e18"):
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            errors[name] = [_("Not a number.")]
            continue
        qs = qs.filter(**{lookup: amount})

    if errors:
        raise ValidationFailed(details=errors)
    return qs.order_by("-issue_date", "-id")


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
