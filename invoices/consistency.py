"""Where an invoice's lines, per-rate summary and header disagree (docs/invoices.md, "Consistency
findings"). Independent of Django, like the parser that calls it.

A finding is a fact, not a refusal: the invoice imports, the amount payable stays the header's
`TgTTTBSo`, and finance sees what disagrees and by how much. Comparisons are exact (to the đồng, or
the cent): derived line VAT is shared to the đồng (invoices.vat), so only what the file itself
states can disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

ZERO = Decimal("0.00")

# The codes, in the order they are reported (labels: invoices.findings).
LINES_BEFORE_TAX = "lines_before_tax"
LINES_TAX = "lines_tax"
SUMMARY_BEFORE_TAX = "summary_before_tax"
SUMMARY_TAX = "summary_tax"
RATE_BEFORE_TAX = "rate_before_tax"
RATE_TAX = "rate_tax"
PAYABLE = "payable"


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    expected: Decimal  # what the authoritative side says (header, or the summary for one rate)
    found: Decimal  # what the other side adds up to
    rate: str = ""  # the tax rate as written, for per-rate findings

    @property
    def difference(self) -> Decimal:
        return self.found - self.expected

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "rate": self.rate,
            "expected": str(self.expected),
            "found": str(self.found),
            "difference": str(self.difference),
        }


class _Line(Protocol):
    @property
    def nature(self) -> int | None: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def tax_rate_text(self) -> str: ...
    @property
    def tax_amount(self) -> Decimal: ...


class _Summary(Protocol):
    @property
    def tax_rate_text(self) -> str: ...
    @property
    def taxable_amount(self) -> Decimal: ...
    @property
    def tax_amount(self) -> Decimal: ...


def _signed(line: _Line) -> Decimal:
    if line.nature == 3:  # trade discount: reduces the taxable amount
        return -abs(line.amount)
    if line.nature in (2, 4):  # promotion (free goods), note
        return ZERO
    return line.amount


def _key(text: str) -> str:
    return "".join(text.split()).upper()


def check(
    *,
    lines: Iterable[_Line],
    summaries: Iterable[_Summary],
    header_before_tax: Decimal | None,
    header_tax: Decimal | None,
    trade_discount: Decimal,
    other_fees: Decimal,
    payable: Decimal,
) -> tuple[Finding, ...]:
    lines, summaries = list(lines), list(summaries)
    found: list[Finding] = []

    def compare(code: str, expected: Decimal | None, actual: Decimal, rate: str = "") -> None:
        if expected is not None and expected != actual:
            found.append(Finding(code=code, expected=expected, found=actual, rate=rate))

    line_before = sum((_signed(line) for line in lines), ZERO)
    line_tax = sum((line.tax_amount for line in lines), ZERO)
    if lines:
        compare(LINES_BEFORE_TAX, header_before_tax, line_before)
        compare(LINES_TAX, header_tax, line_tax)
    if summaries:
        compare(SUMMARY_BEFORE_TAX, header_before_tax, sum((s.taxable_amount for s in summaries), ZERO))
        compare(SUMMARY_TAX, header_tax, sum((s.tax_amount for s in summaries), ZERO))

        by_rate: dict[str, list[Any]] = {}
        for summary in summaries:
            entry = by_rate.setdefault(_key(summary.tax_rate_text), [summary.tax_rate_text, ZERO, ZERO])
            entry[1] += summary.taxable_amount
            entry[2] += summary.tax_amount
        line_rates: dict[str, list[Any]] = {}
        for line in lines:
            entry = line_rates.setdefault(_key(line.tax_rate_text), [line.tax_rate_text, ZERO, ZERO])
            entry[1] += _signed(line)
            entry[2] += line.tax_amount
        rateless = "" in line_rates and "" not in by_rate  # their VAT is what summaries no line carries
        for key, (text, before, tax) in by_rate.items():
            if key not in line_rates and rateless:
                continue
            _text, line_amount, line_vat = line_rates.get(key, [text, ZERO, ZERO])
            compare(RATE_BEFORE_TAX, before, line_amount, text)
            compare(RATE_TAX, tax, line_vat, text)
        for key, (text, before, tax) in line_rates.items():
            if key not in by_rate and key != "" and (before or tax):
                compare(RATE_BEFORE_TAX, ZERO, before, text)
                compare(RATE_TAX, ZERO, tax, text)

    before = header_before_tax if header_before_tax is not None else line_before
    tax = header_tax if header_tax is not None else line_tax
    expected = before + tax + other_fees - trade_discount
    # Vendors differ on whether fees and the trade discount are already inside TgTCThue: any reading agrees.
    readings = {before + tax, before + tax + other_fees, before + tax - trade_discount, expected}
    if payable not in readings:
        found.append(Finding(code=PAYABLE, expected=expected, found=payable))
    return tuple(found)
