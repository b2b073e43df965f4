"""What every admin list shows the same way: status badges and money.

One colour per meaning, whatever the model: grey = not started / set aside, amber = waiting for
someone, blue = ready / in progress, green = done, red = failed. The CSS lives in
`acountee/static/acountee/admin.css` (loaded by `admin/base_site.html`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.html import format_html
from django.utils.safestring import SafeString

from acountee.money import format_money

# status value -> tone; values are the stored choice values of every status field shown in the admin
TONES = {
    "draft": "muted",
    "pending": "waiting",
    "approved": "ready",
    "completed": "done",
    "imported": "ready",
    "redundant": "muted",
    "sent": "done",
    "failed": "failed",
    "active": "done",
    "inactive": "muted",
}


def badge(value: Any, label: Any = None, *, tone: str | None = None) -> SafeString:
    """`<span class="badge badge-<tone>" data-status="<value>">label</span>`; `data-status` is for tests
    and the browser scenario (labels are translated, values are not)."""
    key = str(value if value is not None else "")
    return format_html(
        '<span class="badge badge-{}" data-status="{}">{}</span>',
        tone or TONES.get(key, "muted"),
        key,
        label if label is not None else key,
    )


def status_badge(obj: Any, field: str = "status") -> SafeString:
    """The badge of a model's choices field, labelled with its display value."""
    return badge(getattr(obj, field), getattr(obj, f"get_{field}_display")())


def money(amount: Decimal | int | None, currency: str = "VND") -> SafeString:
    """An amount for a list cell: formatted, right-aligned, never wrapped (see acountee.money)."""
    return format_html('<span class="money">{}</span>', format_money(amount, currency or "VND"))
