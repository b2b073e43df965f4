"""One way to show money to people: admin lists, e-mails, exports.

``format_money(Decimal("21670000"))`` is ``21.670.000 ₫`` in Vietnamese and ``21,670,000 VND`` in English.

Choices:
- The separator between the number and the currency is a normal space (U+0020), not a non-breaking one:
  finance staff copy amounts from the admin into spreadsheets and bank portals, and some of them refuse U+00A0.
  Admin templates keep the amount on one line with CSS (``white-space: nowrap``) instead.
- VND has no minor unit, so it is shown without decimals (rounded half-up); every other currency keeps two.
- Vietnamese groups with dots and uses a decimal comma and, for VND, the ``₫`` sign after the number;
  every other language uses the English convention and the ISO code.
- ``None`` (an unknown amount) is an em dash, so a table cell is never blank by accident.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TypedDict

from django.utils import translation
from django.utils.translation import gettext as _

from acountee.errors import ValidationFailed

EMPTY = "—"
_MINOR_UNITS = {"VND": 0}


class DecimalSize(TypedDict):
    """``max_digits`` and ``decimal_places`` of a DecimalField, spread as ``**MONEY`` (typed for mypy)."""

    max_digits: int
    decimal_places: int


def format_money(amount: Decimal | int | None, currency: str = "VND", *, language: str | None = None) -> str:
    """The amount as text for people, in ``language`` (default: the active Django language)."""
    if amount is None:
        return EMPTY
    code = (currency or "VND").strip().upper()
    unit = "₫" if _vietnamese(language) and code == "VND" else code
    return f"{format_amount(amount, code, language=language)} {unit}"


def format_amount(amount: Decimal | int | None, currency: str = "VND", *, language: str | None = None) -> str:
    """The figures of ``format_money`` without the unit (``21.670.000``), for a table whose heading or
    document already says the currency, as an invoice's lines do."""
    if amount is None:
        return EMPTY
    value = _decimal(amount)
    places = _MINOR_UNITS.get((currency or "VND").strip().upper(), 2)
    value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return ("-" if value < 0 else "") + _grouped(abs(value), places, language)


def format_number(value: Decimal | int | None, *, language: str | None = None) -> str:
    """A quantity, unit price or rate as written, grouped the reader's way and without the trailing zeros its
    six stored decimals add: ``15.000.000`` (not ``15000000,000000``), ``2,5`` in Vietnamese; ``2.5`` in English."""
    if value is None:
        return EMPTY
    number = _decimal(value)
    text = f"{abs(number):f}"
    places = len(text.split(".")[1].rstrip("0")) if "." in text else 0
    return ("-" if number < 0 else "") + _grouped(abs(number), places, language)


def _vietnamese(language: str | None) -> bool:
    lang = (language or translation.get_language() or "en").lower()
    return lang == "vi" or lang.startswith("vi-")


def _grouped(value: Decimal, places: int, language: str | None) -> str:
    grouped = f"{value:,.{places}f}"  # English grouping: 1,234.50
    if _vietnamese(language):
        grouped = grouped.translate(str.maketrans(",.", ".,"))
    return grouped


def _decimal(amount: Decimal | int) -> Decimal:
    # bool is an int, and a float would show its binary error: both are caller bugs, not amounts.
    if isinstance(amount, (bool, float)):
        raise TypeError(f"format_money takes a Decimal or an int, not {type(amount).__name__}")
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(amount)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise TypeError(f"format_money takes a Decimal or an int, not {amount!r}") from exc
    if not value.is_finite():
        raise ValueError(f"format_money cannot show {value}")
    return value


def parse_amount(value: object, field: str) -> Decimal:
    """An amount typed by a person or a client: a finite, non-negative number below 10^16, to the cent.
    Anything else is refused as a validation error on `field`."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationFailed(_("Not a valid amount."), details={field: [_("Not a valid amount.")]}) from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e16"):
        raise ValidationFailed(_("Not a valid amount."), details={field: [_("Not a valid amount.")]})
    return amount.quantize(Decimal("0.01"))
