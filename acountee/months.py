"""One `YYYY-MM` parser and one month type for every filter, report and tool.

A month is written `YYYY-MM` (four digits, two digits), year 1900 to 9999, month 01 to 12; anything
else is a 400 naming the field with "Use YYYY-MM.". The error code is VALIDATION_ERROR (the
invoice and payment-request lists); the reports (INVALID_REPORT_PARAMETER, docs/reports.md) and
the workbench (INVALID_MONTH, tests/workbench) pass their documented codes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from acountee.errors import ValidationFailed

MIN_YEAR, MAX_YEAR = 1900, 9999
_MONTH_RE = re.compile(r"^([0-9]{4})-([0-9]{2})$")
# The same rule for the OpenAPI document (ECMA regex; the parser also forgives surrounding spaces).
MONTH_PATTERN = r"^(19[0-9]{2}|[2-9][0-9]{3})-(0[1-9]|1[0-2])$"


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month; datetimes are compared in local time (settings.TIME_ZONE,
    Asia/Ho_Chi_Minh), so a PR made at 00:30 on the 1st belongs to that month, not the last."""

    year: int
    month: int

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def next_first_day(self) -> date | None:
        """The first day of the next month; None after December 9999 (the calendar ends)."""
        if self.month < 12:
            return date(self.year, self.month + 1, 1)
        return date(self.year + 1, 1, 1) if self.year < MAX_YEAR else None

    def date_filter(self, field: str) -> Q:
        """`field` (a date) falls in the month."""
        q = Q(**{f"{field}__gte": self.first_day})
        end = self.next_first_day
        return q & Q(**{f"{field}__lt": end}) if end is not None else q

    def local_bounds(self) -> tuple[datetime, datetime | None]:
        """[start, end) in local time; end is None after December 9999."""
        tz = timezone.get_default_timezone()
        start = datetime.combine(self.first_day, datetime.min.time(), tzinfo=tz)
        end = self.next_first_day
        return start, datetime.combine(end, datetime.min.time(), tzinfo=tz) if end is not None else None

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def parse_month(
    value: Any, *, field: str = "month", code: str = ValidationFailed.code, message: str | None = None
) -> Month:
    """`YYYY-MM` → Month, or ValidationFailed(code, details={field: ["Use YYYY-MM."]})."""
    match = _MONTH_RE.match(str(value if value is not None else "").strip())
    if not match or not 1 <= int(match[2]) <= 12 or not MIN_YEAR <= int(match[1]) <= MAX_YEAR:
        raise ValidationFailed(message, code=code, details={field: [_("Use YYYY-MM.")]})
    return Month(int(match[1]), int(match[2]))
