"""`{% load home_tags %}` `{% needs_me %}`: the admin home's "what needs me" block (payments.admin.home)."""

from __future__ import annotations

from typing import Any

from django import template

from payments.admin.home import needs_me as items

register = template.Library()


@register.inclusion_tag("admin/needs_me.html", takes_context=True)
def needs_me(context: Any) -> dict[str, Any]:
    request = context.get("request")
    return {"items": items(getattr(request, "user", None))}
