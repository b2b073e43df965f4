"""Validation of report parameters (query strings of the API and the admin pages alike).

Every report refuses unknown parameters, malformed months/dates, reversed or too long periods
and out-of-range `top` with a 400 VALIDATION_ERROR naming the parameter."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from acountee import months
from acountee.errors import ValidationFailed
from acountee.months import Month

DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
MAX_MONTHS = 120
TOP_DEFAULT, TOP_MAX = 10, 100
# Parameters the transport itself uses (DRF's format override), never report inputs.
TRANSPORT = frozenset({"format"})


def today() -> date:
    """Today in the company time zone (Asia/Ho_Chi_Minh)."""
    return timezone.localdate()


@dataclass(frozen=True)
class MonthRange:
    first: date  # first day of the first month
    last: date  # first day of the last month

    def months(self) -> list[date]:
        out, y, m = [], self.first.year, self.first.month
        while (y, m) <= (self.last.year, self.last.month):
            out.append(date(y, m, 1))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out

    @property
    def end_exclusive(self) -> date | None:
        """The first day after the period; None when it ends with December 9999."""
        return Month(self.last.year, self.last.month).next_first_day


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        _("The report parameters are not valid."), code="INVALID_REPORT_PARAMETER", details={field: [message]}
    )


def _reject_unknown(params: Any, known: set[str]) -> None:
    unknown = sorted(set(params.keys()) - known - TRANSPORT)
    if unknown:
        raise ValidationFailed(
            _("The report parameters are not valid."),
            code="INVALID_REPORT_PARAMETER",
            details={name: [_("Unknown parameter.")] for name in unknown},
        )


def _one(params: Any, name: str) -> str | None:
    values = params.getlist(name) if hasattr(params, "getlist") else [params[name]] if name in params else []
    if not values:
        return None
    if len(values) > 1:
        raise _fail(name, _("Give this parameter once."))
    return str(values[0]).strip()


def parse_month(value: str, field: str) -> date:
    """The one month parser (acountee.months), with the reports' code (INVALID_REPORT_PARAMETER)."""
    month = months.parse_month(
        value, field=field, code="INVALID_REPORT_PARAMETER", message=_("The report parameters are not valid.")
    )
    return month.first_day


def parse_date(value: str, field: str) -> date:
    match = DATE_RE.match(value)
    try:
        if not match:
            raise ValueError
        parsed = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise _fail(field, _("Expected a date as YYYY-MM-DD.")) from None
    if not 1900 <= parsed.year <= 9998:
        raise _fail(field, _("Expected a date as YYYY-MM-DD."))
    return parsed


def month_range(params: Any) -> MonthRange:
    """`from`/`to` as YYYY-MM (inclusive); default: the last 12 months up to this one."""
    _reject_unknown(params, {"from", "to"})
    now = today().replace(day=1)
    raw_to, raw_from = _one(params, "to"), _one(params, "from")
    last = parse_month(raw_to, "to") if raw_to else now
    if raw_from:
        first = parse_month(raw_from, "from")
    else:
        y, m = last.year, last.month - 11
        while m < 1:
            y, m = y - 1, m + 12
        first = date(y, m, 1)
    if first > last:
        raise _fail("from", _("The start must not be after the end."))
    if (last.year - first.year) * 12 + last.month - first.month + 1 > MAX_MONTHS:
        raise _fail("from", _("At most %(n)d months.") % {"n": MAX_MONTHS})
    return MonthRange(first, last)


@dataclass(frozen=True)
class SupplierParams:
    date_from: date | None
    date_to: date | None
    top: int


def supplier_params(params: Any) -> SupplierParams:
    """`from`/`to` as YYYY-MM-DD (inclusive, invoice issue date), `top` 1..100 (default 10)."""
    _reject_unknown(params, {"from", "to", "top"})
    raw_from, raw_to, raw_top = _one(params, "from"), _one(params, "to"), _one(params, "top")
    date_from = parse_date(raw_from, "from") if raw_from else None
    date_to = parse_date(raw_to, "to") if raw_to else None
    if date_from and date_to and date_from > date_to:
        raise _fail("from", _("The start must not be after the end."))
    top = TOP_DEFAULT
    if raw_top is not None:
        if not re.fullmatch(r"[0-9]{1,4}", raw_top) or not 1 <= int(raw_top) <= TOP_MAX:
            raise _fail("top", _("Expected a whole number from 1 to %(max)d.") % {"max": TOP_MAX})
        top = int(raw_top)
    return SupplierParams(date_from, date_to, top)


def as_of_param(params: Any) -> date:
    """`as_of` as YYYY-MM-DD; default today (company time zone)."""
    _reject_unknown(params, {"as_of"})
    raw = _one(params, "as_of")
    return parse_date(raw, "as_of") if raw else today()


def no_params(params: Any) -> None:
    _reject_unknown(params, set())
