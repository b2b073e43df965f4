"""`{% invoice_date_hierarchy cl %}`: the invoice list's date drill-down (invoices/admin_dates.py)."""

from __future__ import annotations

from typing import Any

from django import template

from invoices.admin_dates import date_hierarchy

register = template.Library()


@register.inclusion_tag("admin/date_hierarchy.html")
def invoice_date_hierarchy(cl: Any) -> dict[str, Any]:
    return date_hierarchy(cl)
