"""`{% load acountee_admin %}`: `{{ amount|money:currency }}` and `{% badge value label %}` in admin templates,
the same helpers the admin classes use (acountee.admin_display)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from acountee import admin_display

register = template.Library()


@register.filter
def money(amount: Any, currency: str = "VND") -> Any:
    try:
        return admin_display.money(amount, currency)
    except (TypeError, ValueError):
        return amount  # a page never fails over how a value is shown (autoescaped as usual)


@register.simple_tag
def badge(value: Any, label: Any = None) -> SafeString:
    return admin_display.badge(value, label)
