"""acountee.amount_words: amounts in Vietnamese words, as the payment request form (05-TT) writes them.

Known readings pin each rule; a reader written here independently (words → number) checks every number up to
20,000 and random ones up to 10^21 read back to themselves, so no rule breaks another."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acountee.amount_words import amount_in_words_vi, number_in_words_vi


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (0, "Không đồng"),
        (1, "Một đồng"),
        (4, "Bốn đồng"),
        (5, "Năm đồng"),
        (10, "Mười đồng"),
        (11, "Mười một đồng"),  # mười một, never mười mốt
        (14, "Mười bốn đồng"),
        (15, "Mười lăm đồng"),
        (20, "Hai mươi đồng"),
        (21, "Hai mươi mốt đồng"),
        (24, "Hai mươi tư đồng"),
        (25, "Hai mươi lăm đồng"),
        (55, "Năm mươi lăm đồng"),
        (91, "Chín mươi mốt đồng"),
        (100, "Một trăm đồng"),
        (101, "Một trăm linh một đồng"),  # linh một, never linh mốt
        (104, "Một trăm linh bốn đồng"),
        (105, "Một trăm linh năm đồng"),  # linh năm, never linh lăm
        (110, "Một trăm mười đồng"),
        (115, "Một trăm mười lăm đồng"),
        (999, "Chín trăm chín mươi chín đồng"),
        (1000, "Một nghìn đồng"),
        (1001, "Một nghìn không trăm linh một đồng"),
        (1005, "Một nghìn không trăm linh năm đồng"),
        (1010, "Một nghìn không trăm mười đồng"),
        (1050, "Một nghìn không trăm năm mươi đồng"),
        (1500, "Một nghìn năm trăm đồng"),
        (10_000, "Mười nghìn đồng"),
        (15_000, "Mười lăm nghìn đồng"),
        (21_000, "Hai mươi mốt nghìn đồng"),
        (100_000, "Một trăm nghìn đồng"),
        (105_000, "Một trăm linh năm nghìn đồng"),
        (1_000_000, "Một triệu đồng"),
        (1_000_500, "Một triệu năm trăm đồng"),  # an all-zero group is left out
        (1_000_050, "Một triệu không trăm năm mươi đồng"),
        (1_005_000, "Một triệu không trăm linh năm nghìn đồng"),
        (1_500_000, "Một triệu năm trăm nghìn đồng"),
        (21_670_000, "Hai mươi mốt triệu sáu trăm bảy mươi nghìn đồng"),
        (19_700_000, "Mười chín triệu bảy trăm nghìn đồng"),
        (250_000_000, "Hai trăm năm mươi triệu đồng"),
        (1_000_000_000, "Một tỷ đồng"),
        (1_000_000_005, "Một tỷ không trăm linh năm đồng"),
        (1_000_500_000, "Một tỷ năm trăm nghìn đồng"),
        (2_024_000_000, "Hai tỷ không trăm hai mươi tư triệu đồng"),
        (10**12, "Một nghìn tỷ đồng"),
        (1_500_000_000_000, "Một nghìn năm trăm tỷ đồng"),  # not "một nghìn tỷ năm trăm tỷ"
        (10**15, "Một triệu tỷ đồng"),
        (10**18, "Một tỷ tỷ đồng"),  # tỷ repeats
        (10**18 + 10**9, "Một tỷ không trăm linh một tỷ đồng"),  # (10^9 + 1) tỷ
        (
            123_456_789_012_345,
            "Một trăm hai mươi ba nghìn bốn trăm năm mươi sáu tỷ bảy trăm tám mươi chín triệu "
            "không trăm mười hai nghìn ba trăm bốn mươi lăm đồng",
        ),
        (Decimal("21670000.00"), "Hai mươi mốt triệu sáu trăm bảy mươi nghìn đồng"),
        (Decimal("2E+6"), "Hai triệu đồng"),
    ],
)
def test_known_readings(amount, expected):
    assert amount_in_words_vi(amount) == expected


def test_lẻ_instead_of_linh():
    assert amount_in_words_vi(1_000_005, odd="lẻ") == "Một triệu không trăm lẻ năm đồng"
    with pytest.raises(ValueError):
        amount_in_words_vi(5, odd="le")


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (Decimal("999.5"), "VND", "Một nghìn đồng"),  # VND rounds half-up to the đồng, like format_money
        (Decimal("999.49"), "VND", "Chín trăm chín mươi chín đồng"),
        (Decimal("0.4"), "VND", "Không đồng"),
        (Decimal("-0.4"), "VND", "Không đồng"),  # rounds to zero: no "âm"
        (Decimal("-1500000"), "VND", "Âm một triệu năm trăm nghìn đồng"),
        (Decimal("12.50"), "USD", "Mười hai phẩy năm mươi USD"),
        (Decimal("12.05"), "usd", "Mười hai phẩy không năm USD"),
        (Decimal("12.005"), "EUR", "Mười hai phẩy không một EUR"),
        (Decimal("12"), "EUR", "Mười hai EUR"),
        (7, "", "Bảy đồng"),
    ],
)
def test_odd_amounts_and_currencies(amount, currency, expected):
    assert amount_in_words_vi(amount, currency) == expected


@pytest.mark.parametrize("bad", [1.5, True, "100", None])
def test_refuses_what_is_not_an_amount(bad):
    with pytest.raises(TypeError):
        amount_in_words_vi(bad)


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_refuses_non_finite(bad):
    with pytest.raises(ValueError):
        amount_in_words_vi(bad)


def test_number_in_words_refuses_negative():
    with pytest.raises(ValueError):
        number_in_words_vi(-1)


# --- an independent reader: words back to the number ------------------------------------------------------------
DIGIT = {w: i for i, w in enumerate(["không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"])}
UNIT = {**DIGIT, "mốt": 1, "tư": 4, "lăm": 5}


def _units(tokens: list[str]) -> int:
    assert len(tokens) <= 1, tokens
    return UNIT[tokens[0]] if tokens else 0


def _group(tokens: list[str]) -> int:
    value = 0
    if "trăm" in tokens:
        assert tokens[1] == "trăm", tokens
        value, tokens = 100 * DIGIT[tokens[0]], tokens[2:]
    if not tokens:
        return value
    if tokens[0] in ("linh", "lẻ"):
        assert value or tokens[1] != "không", tokens
        return value + DIGIT[tokens[1]]
    if tokens[0] == "mười":
        assert tokens[1:] != ["mốt"] and tokens[1:] != ["tư"], tokens
        return value + 10 + _units(tokens[1:])
    if len(tokens) >= 2 and tokens[1] == "mươi":
        assert DIGIT[tokens[0]] >= 2, tokens
        assert tokens[2:] not in (["một"], ["bốn"], ["năm"]), tokens
        return value + 10 * DIGIT[tokens[0]] + _units(tokens[2:])
    assert not value, tokens
    assert tokens[0] not in ("mốt", "tư", "lăm"), tokens
    return _units(tokens)


def _block(tokens: list[str]) -> int:
    total = 0
    for word, scale in (("triệu", 10**6), ("nghìn", 10**3)):
        if word in tokens:
            i = tokens.index(word)
            total += _group(tokens[:i]) * scale
            tokens = tokens[i + 1 :]
    return total + _group(tokens)


def read_back(words: str) -> int:
    tokens = words.split()
    if "tỷ" in tokens:
        i = len(tokens) - 1 - tokens[::-1].index("tỷ")
        return read_back(" ".join(tokens[:i])) * 10**9 + (_block(tokens[i + 1 :]) if tokens[i + 1 :] else 0)
    return _block(tokens)


def test_every_number_up_to_twenty_thousand_reads_back_and_reads_uniquely():
    seen = set()
    for n in range(20_001):
        words = number_in_words_vi(n)
        assert read_back(words) == n, (n, words)
        seen.add(words)
    assert len(seen) == 20_001


@settings(max_examples=400, deadline=None)
@given(st.integers(min_value=0, max_value=10**21))
def test_any_number_reads_back(n):
    words = number_in_words_vi(n)
    assert read_back(words) == n, words
    assert "  " not in words and words == words.strip()


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=10**15))
def test_amount_is_capitalised_and_ends_with_dong(n):
    words = amount_in_words_vi(Decimal(n))
    assert words[0].isupper() and words.endswith(" đồng")
    assert read_back(words[0].lower() + words[1 : -len(" đồng")]) == n
