"""`{% load acountee_admin %}`: `{{ amount|money:currency }}`, `{{ date|day }}` and `{% badge value label %}` in admin
templates, the same helpers the admin classes use (acountee.admin_display, acountee.dates)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from acountee import admin_display, dates

register = template.Library()


@register.filter
def money(amount: Any, currency: str = "VND") -> Any:
    try:
        return admin_display.money(amount, currency)
    except (TypeError, ValueError):
        return amount  # a page never fails over how a value is shown (autoescaped as usual)


@register.filter
def day(value: Any) -> Any:
    """A date as written on a document: 06/12/2026 on Vietnamese pages, 6 Dec 2026 on English ones."""
    try:
        return dates.day(value) if value else "—"
    except (TypeError, ValueError, AttributeError):
        return value


@register.simple_tag
def badge(value: Any, label: Any = None) -> SafeString:
    return admin_display.badge(value, label)
