"""Line VAT: taken from where the file states it, derived only where it does not (docs/invoices.md,
"Line VAT"). Independent of Django, like the parser that calls it.

Order of the sources, per line:

1. **the line** (`line`): a VAT amount in the line's `TTKhac` under one of the keys vendors use
   (`VATAmount`, `TienThue`, `TongTien_Thue`, …), a `TThue` element on the line, or a line total
   including VAT (`ThanhTienSauThue`, …) minus `ThTien`;
2. **the per-rate summary** (`summary`): `THTTLTSuat/LTSuat/TThue` of the line's rate, less what the
   lines of that rate already state, shared over the other lines of the rate in proportion to their
   amounts; a summary rate no line carries goes to the lines that state no rate (an adjustment that
   only changes a rate);
3. **the totals block** (`total`): with no per-rate summary at all, `TgTThue` less what the lines
   state, shared in proportion to amount times rate;
4. **computed** (`computed`): amount times rate, rounded to the đồng (to the cent in other currencies).

Shares use the largest-remainder method, so derived amounts add up to the figure they come from
exactly (no 1 VND drift). Trade-discount lines (`TChat` 3) reduce the taxable amount: their amount
counts negatively and their VAT is negative, whatever sign the file writes. Promotion lines
(`TChat` 2: goods given free) and notes (`TChat` 4) carry no VAT unless the line states one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

AMOUNT_PLACES = Decimal("0.01")
ZERO = Decimal("0.00")

GOODS, PROMOTION, DISCOUNT, NOTE = 1, 2, 3, 4

# `TTKhac` keys vendors use for a line's VAT amount, compared folded (accents, case, spaces, `_` and
# `-` removed): VATAmount, TienThue, TThue, VAT_Amount, TaxAmount, TienThueGTGT, TongTien_Thue, ...
LINE_VAT_KEYS = frozenset(
    {
        "vatamount",
        "tienthue",
        "tthue",
        "taxamount",
        "tienthuegtgt",
        "thuegtgt",
        "tongtienthue",
        "sotienthue",
        "thanhtienthue",
        "amountvat",
        "tienvat",
        "vatamountoc",
    }
)
# Keys for the line's total *including* VAT: the VAT is that total less ThTien.
LINE_GROSS_KEYS = frozenset(
    {
        "thanhtiensauthue",
        "tongtiensauthue",
        "thanhtiencothue",
        "tongtiencothue",
        "tongtienthanhtoan",
        "thanhtienthanhtoan",
        "amountwithvat",
        "amountaftervat",
        "totalamountwithvat",
    }
)

_NOT_KEY_CHARS = re.compile(r"[^a-z0-9]")


def fold(text: str) -> str:
    """Lower case without accents (đ → d): how vendor keys and line texts are compared."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def key_name(key: str) -> str:
    return _NOT_KEY_CHARS.sub("", fold(key))


def number_or_none(raw: str) -> Decimal | None:
    """A vendor value read as a number, or None when it is not one (then it states nothing)."""
    text = raw.replace(" ", "").replace("\u00a0", "")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or abs(value) >= Decimal("1e18"):
        return None
    return value.quantize(AMOUNT_PLACES, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class VatLine:
    """What VAT resolution needs of one line."""

    position: int
    nature: int | None
    amount: Decimal  # ThTien as written
    rate_key: str  # TSuat folded for comparison ("" when none is written)
    rate: Decimal | None  # percent, where the rate is a number
    stated: Decimal | None  # the line's own VAT, where the file states it

    @property
    def signed_amount(self) -> Decimal:
        """The line's effect on the taxable amount: a trade discount reduces it."""
        if self.nature == DISCOUNT:
            return -abs(self.amount)
        if self.nature in (PROMOTION, NOTE):
            return ZERO
        return self.amount

    @property
    def takes_derived_vat(self) -> bool:
        return self.nature not in (PROMOTION, NOTE)


@dataclass(frozen=True, slots=True)
class VatSummary:
    rate_key: str
    tax_amount: Decimal


def stated_vat(nature: int | None, amount: Decimal, direct: str, extras: dict[str, str]) -> Decimal | None:
    """The line's VAT where the line states it: a `TThue` element, a VAT key or a gross key in
    `TTKhac`. A discount line's VAT is negative whatever sign is written."""
    value = number_or_none(direct) if direct else None
    if value is None:
        gross = None
        for key, raw in extras.items():
            name = key_name(key)
            if name in LINE_VAT_KEYS:
                value = number_or_none(raw)
                if value is not None:
                    break
            elif gross is None and name in LINE_GROSS_KEYS:
                gross = number_or_none(raw)
        if value is None and gross is not None:
            value = abs(gross) - abs(amount) if nature == DISCOUNT else gross - amount
    if value is None:
        return None
    return -abs(value) if nature == DISCOUNT else value


def resolve(
    lines: list[VatLine], summaries: list[VatSummary], header_tax: Decimal | None, currency: str
) -> dict[int, tuple[Decimal, str]]:
    """Each line's VAT amount and where it came from (`line`, `summary`, `total`, `computed`), by position."""
    unit = Decimal("1") if currency == "VND" else AMOUNT_PLACES
    result: dict[int, tuple[Decimal, str]] = {}
    stated_by_rate: dict[str, Decimal] = {}
    open_lines: list[VatLine] = []
    for line in lines:
        if line.stated is not None:
            result[line.position] = (line.stated.quantize(AMOUNT_PLACES), "line")
            stated_by_rate[line.rate_key] = stated_by_rate.get(line.rate_key, ZERO) + line.stated
        elif line.takes_derived_vat:
            open_lines.append(line)
        else:
            result[line.position] = (ZERO, "computed")

    summary_by_rate: dict[str, Decimal] = {}
    for summary in summaries:
        summary_by_rate[summary.rate_key] = summary_by_rate.get(summary.rate_key, ZERO) + summary.tax_amount

    groups: dict[str, list[VatLine]] = {}
    for line in open_lines:
        groups.setdefault(line.rate_key, []).append(line)
    carried = {line.rate_key for line in lines}
    # Summary rates no line carries (an adjustment that only changes a rate): to the lines without a rate.
    orphan_vat = sum((tax for key, tax in summary_by_rate.items() if key not in carried and key != ""), ZERO)

    leftover: list[VatLine] = []
    for key, items in groups.items():
        if key in summary_by_rate or (key == "" and orphan_vat):
            rest = summary_by_rate.get(key, ZERO) - stated_by_rate.get(key, ZERO)
            if key == "":
                rest += orphan_vat
            for line, share in zip(items, distribute(rest, [i.signed_amount for i in items], unit), strict=True):
                result[line.position] = (share, "summary")
        else:
            leftover.extend(items)

    if leftover and not summaries and header_tax is not None:
        rest = header_tax - sum(stated_by_rate.values(), ZERO)
        weights = [line.signed_amount * line.rate if line.rate else ZERO for line in leftover]
        if not any(weights):
            weights = [line.signed_amount if line.rate_key == "" else ZERO for line in leftover]
        if any(weights) or not rest:
            for line, share in zip(leftover, distribute(rest, weights, unit), strict=True):
                result[line.position] = (share, "total")
            leftover = []

    for line in leftover:
        rate = line.rate or Decimal("0")
        computed = (line.signed_amount * rate / 100).quantize(unit, rounding=ROUND_HALF_UP)
        result[line.position] = (computed.quantize(AMOUNT_PLACES), "computed")
    return result


def distribute(total: Decimal, weights: list[Decimal], unit: Decimal) -> list[Decimal]:
    """`total` shared in proportion to `weights` (signed) by the largest-remainder method: every
    share is a whole `unit`, and the shares add up to `total` exactly."""
    count = len(weights)
    if count == 0:
        return []
    total = total.quantize(AMOUNT_PLACES)
    if count == 1:
        return [total]
    with localcontext() as ctx:
        ctx.prec = 60
        base = sum(weights, Decimal("0"))
        if base == 0:
            # Nothing to weigh by: the whole amount on the line that weighs most (the first if none does).
            biggest = max(range(count), key=lambda i: (abs(weights[i]), -i))
            return [total if i == biggest else ZERO for i in range(count)]
        exact = [total * weight / base for weight in weights]
        floors = [(q / unit).to_integral_value(rounding=ROUND_FLOOR) * unit for q in exact]
        rest = total - sum(floors, Decimal("0"))
        extra_units = int((rest / unit).to_integral_value(rounding=ROUND_FLOOR))
        by_fraction = sorted(range(count), key=lambda i: (-(exact[i] - floors[i]), i))
        for i in by_fraction[:extra_units]:
            floors[i] += unit
        crumbs = total - sum(floors, Decimal("0"))  # below one unit: only when the total itself has them
        if crumbs:
            floors[by_fraction[0]] += crumbs
        return [share.quantize(AMOUNT_PLACES) for share in floors]
