"""`{% reports_home_summary %}`: the compact reports block of the admin home, for whoever may
read reports (nothing for anyone else). Usable by any admin page: `{% load reports_tags %}`."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


def home_summary_context(user: Any) -> dict[str, Any]:
    """The context of the block (also usable from a view): empty when the user may not see reports."""
    from payments.reports import queries
    from payments.reports.params import today
    from payments.reports.permissions import can_view_reports

    if not can_view_reports(user):
        return {"summary": None}
    return {"summary": queries.home_summary(today=today())}


@register.inclusion_tag("reports/admin/home_summary.html", takes_context=True)
def reports_home_summary(context: Any) -> dict[str, Any]:
    request = context.get("request")
    return home_summary_context(getattr(request, "user", None))
