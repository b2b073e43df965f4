"""One way to show a date to people on a page of record (the payment request form, the invoice page): the way
it is written in the reader's country. ``06/12/2026`` in Vietnamese (day first, as invoices and forms write it;
Django's own `vi` short format is ``06-12-2026``), ``6 Dec 2026`` in English (unambiguous for either order)."""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone, translation
from django.utils.formats import date_format


def is_vietnamese() -> bool:
    """Whether the active language is Vietnamese (``vi`` or a regional ``vi-…``)."""
    lang = (translation.get_language() or "").lower()
    return lang == "vi" or lang.startswith("vi-")


def day(value: date | datetime) -> str:
    """A date as people write it on a form: 06/12/2026 in Vietnamese, 6 Dec 2026 in English."""
    if isinstance(value, datetime):
        value = timezone.localtime(value).date()
    return date_format(value, "d/m/Y" if is_vietnamese() else "j M Y")


def moment(value: datetime) -> str:
    """A time of day, local (Asia/Ho_Chi_Minh): 06/12/2026 14:05 in Vietnamese, 6 Dec 2026 14:05 in English."""
    return date_format(timezone.localtime(value), "d/m/Y H:i" if is_vietnamese() else "j M Y H:i")
