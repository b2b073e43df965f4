"""One YYYY-MM parser (acountee.months): one bound (years 1900 to 9999), one message, and each
endpoint's documented error code for a bad month."""

from __future__ import annotations

from datetime import date

import pytest

from acountee.errors import ValidationFailed
from acountee.months import MAX_YEAR, MIN_YEAR, Month, parse_month


@pytest.mark.parametrize("text", ["1900-01", "2026-11", " 2026-11 ", "9999-12"])
def test_good_months(text):
    month = parse_month(text)
    assert str(month) == text.strip()


ARABIC_INDIC = "\u0662\u0660\u0662\u0666-\u0661\u0661"  # 2026-11 in other digits


@pytest.mark.parametrize(
    "text",
    ["", "1899-12", "0000-01", "2026-00", "2026-13", "2026-1", "26-11", "2026/11", ARABIC_INDIC, None, "2026-11-01"],
)
def test_bad_months_name_the_field(text):
    with pytest.raises(ValidationFailed) as caught:
        parse_month(text, field="from")
    assert caught.value.code == "VALIDATION_ERROR"
    assert list(caught.value.details) == ["from"]


def test_the_code_is_the_callers():
    with pytest.raises(ValidationFailed) as caught:
        parse_month("2026-13", code="INVALID_MONTH")
    assert caught.value.code == "INVALID_MONTH"


def test_bounds_and_the_end_of_the_calendar():
    assert (MIN_YEAR, MAX_YEAR) == (1900, 9999)
    assert Month(2026, 12).next_first_day == date(2027, 1, 1)
    assert Month(9999, 12).next_first_day is None  # date(10000, 1, 1) does not exist
    assert Month(9999, 12).local_bounds()[1] is None
    assert Month(2026, 2).local_bounds()[1].date() == date(2026, 3, 1)


# Each endpoint: a bad month is a 400 with its code; the bounds are the same everywhere.
ENDPOINTS = [
    ("/api/invoices/?month={}", "VALIDATION_ERROR", "month"),
    ("/api/payment-requests/?month={}", "VALIDATION_ERROR", "month"),
    ("/api/reports/payables-by-month/?to={}&from={}", "INVALID_REPORT_PARAMETER", "to"),
    ("/api/workbench/cleanup/?month={}", "INVALID_MONTH", "month"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "code", "field"), ENDPOINTS)
def test_every_endpoint_uses_the_one_parser(owner_client, url, code, field):
    for bad in ("1899-12", "2026-13", "abc"):
        response = owner_client.get(url.format(bad, bad))
        assert response.status_code == 400, response.content
        error = response.json()["error"]
        assert error["code"] == code and field in error["details"]
    for good in ("1900-01", "9999-12"):
        assert owner_client.get(url.format(good, good)).status_code == 200
