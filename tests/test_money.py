from decimal import Decimal

import pytest
from django.utils import translation

from acountee.money import format_money


@pytest.mark.parametrize(
    ("amount", "currency", "language", "expected"),
    [
        (Decimal("21670000"), "VND", "vi", "21.670.000 ₫"),
        (Decimal("21670000"), "VND", "en", "21,670,000 VND"),
        (21670000, "VND", "vi", "21.670.000 ₫"),
        (Decimal("1234.5"), "USD", "vi", "1.234,50 USD"),
        (Decimal("1234.5"), "USD", "en", "1,234.50 USD"),
        (Decimal("999.5"), "VND", "en", "1,000 VND"),  # VND has no decimals: half-up
        (Decimal("0.004"), "usd", "en", "0.00 USD"),
        (Decimal("-1500000"), "VND", "vi", "-1.500.000 ₫"),
        (0, "VND", "en", "0 VND"),
        (Decimal("1E+6"), "VND", "en", "1,000,000 VND"),
        (Decimal("123456789012345.67"), "EUR", "vi", "123.456.789.012.345,67 EUR"),
        (Decimal("5"), "VND", "vi-VN", "5 ₫"),
        (Decimal("5"), "VND", "fr", "5 VND"),
    ],
)
def test_format_money(amount, currency, language, expected):
    assert format_money(amount, currency, language=language) == expected


def test_none_is_a_dash():
    assert format_money(None) == "—"


def test_follows_the_active_language():
    with translation.override("vi"):
        assert format_money(Decimal("21670000")) == "21.670.000 ₫"
    with translation.override("en"):
        assert format_money(Decimal("21670000")) == "21,670,000 VND"


def test_separator_is_a_plain_space_for_copy_paste():
    assert "\u00a0" not in format_money(Decimal("1000"), language="vi")


@pytest.mark.parametrize("bad", [1.5, True, "abc", [1]])
def test_rejects_non_amounts(bad):
    with pytest.raises(TypeError):
        format_money(bad)


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity")])
def test_rejects_non_finite(bad):
    with pytest.raises(ValueError):
        format_money(bad)


def test_template_filter_shows_odd_values_as_they_are():
    from django.template import Context, Template

    template = Template("{% load acountee_admin %}{{ a|money }}|{{ b|money:'USD' }}|{{ c|money }}")
    with translation.override("en"):
        out = template.render(Context({"a": Decimal("1000"), "b": "12.5", "c": "<x>"}))
    assert out == '<span class="money">1,000 VND</span>|<span class="money">12.50 USD</span>|&lt;x&gt;'
