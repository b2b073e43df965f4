"""An amount in Vietnamese words, as a payment request form (Mẫu số 05-TT) and an invoice write it under the
figures: ``amount_in_words_vi(Decimal("21670000"))`` is ``Hai mươi mốt triệu sáu trăm bảy mươi nghìn đồng``.

We compute it ourselves (never trust the ``TgTTTBChu`` text a supplier's XML carries) with the rules a Vietnamese
accountant reads aloud:

- the number is read in groups of three digits — đơn vị, nghìn, triệu — and every nine digits make a ``tỷ``;
  above that ``tỷ`` repeats (10^12 is ``một nghìn tỷ``, 10^18 ``một tỷ tỷ``), never ``nghìn tỷ tỷ`` mixed up;
- a group that is all zeros is left out (``một triệu đồng``, ``một tỷ năm trăm đồng``); every other group after
  the first says its hundreds even when they are zero (``một nghìn không trăm linh năm``);
- zero tens before a unit read ``linh`` (``lẻ`` in the south: ``odd="lẻ"``): ``một trăm linh một``;
- 10 to 19 are ``mười …``, 20 and above ``… mươi``; after ``mươi`` a 1 is ``mốt`` and a 4 is ``tư``
  (``hai mươi mốt``, ``hai mươi tư``), after ``mười``/``mươi`` a 5 is ``lăm`` (``mười lăm``, ``năm mươi lăm``);
  elsewhere ``một``, ``bốn``, ``năm`` (``mười một``, ``mười bốn``, ``một trăm linh năm``);
- zero is ``Không đồng``; a negative amount starts with ``Âm``; the first letter is a capital.

VND has no minor unit: like ``acountee.money.format_money``, an amount in đồng is rounded half-up to the đồng, so
the words always say what the figures beside them show. Another currency keeps two decimals, read after
``phẩy`` and followed by its code (``Mười hai phẩy năm mươi USD``).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
GROUPS = ("", "nghìn", "triệu")  # within one block of nine digits; each block above is one more "tỷ"
BILLION = 10**9


def amount_in_words_vi(amount: Decimal | int, currency: str = "VND", *, odd: str = "linh") -> str:
    """``amount`` in Vietnamese words, capitalised, ending with the unit (``đồng`` for VND, else the code)."""
    if odd not in ("linh", "lẻ"):
        raise ValueError('odd is "linh" or "lẻ"')
    value = _finite(amount)
    code = (currency or "VND").strip().upper()
    places = 0 if code == "VND" else 2
    value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    negative = value < 0
    whole = int(abs(value))
    words = number_in_words_vi(whole, odd=odd)
    if places:
        cents = int((abs(value) - whole) * 100)
        if cents:
            words += " phẩy " + (f"không {DIGITS[cents]}" if cents < 10 else number_in_words_vi(cents, odd=odd))
    words += " đồng" if code == "VND" else f" {code}"
    if negative:
        words = "âm " + words
    return words[0].upper() + words[1:]


def number_in_words_vi(number: int, *, odd: str = "linh") -> str:
    """A non-negative whole number in lower-case Vietnamese words (``21670000`` → ``hai mươi mốt triệu …``)."""
    if number < 0:
        raise ValueError("number_in_words_vi reads non-negative numbers")
    if number == 0:
        return DIGITS[0]
    return " ".join(_read(number, leading=True, odd=odd))


def _read(number: int, *, leading: bool, odd: str) -> list[str]:
    """``number`` (> 0): the blocks above a billion read recursively and followed by ``tỷ``, then the last nine
    digits. ``leading``: nothing is read before it, so its first group may skip zero hundreds."""
    high, low = divmod(number, BILLION)
    words: list[str] = []
    if high:
        words += [*_read(high, leading=leading, odd=odd), "tỷ"]
        leading = False
    if low:
        words += _block(low, leading=leading, odd=odd)
    return words


def _block(number: int, *, leading: bool, odd: str) -> list[str]:
    """A number below a billion: its groups of three, all-zero groups left out."""
    groups = [(number // 10 ** (3 * i)) % 1000 for i in range(len(GROUPS))]
    words: list[str] = []
    for i in reversed(range(len(GROUPS))):
        if groups[i] == 0:
            continue
        words += _group(groups[i], full=not leading, odd=odd)
        if GROUPS[i]:
            words.append(GROUPS[i])
        leading = False
    return words


def _group(number: int, *, full: bool, odd: str) -> list[str]:
    """Three digits (1 to 999). ``full``: a group after another one, whose zero hundreds are read (``không trăm``)."""
    hundreds, rest = divmod(number, 100)
    tens, units = divmod(rest, 10)
    words: list[str] = []
    if hundreds or full:
        words += [DIGITS[hundreds], "trăm"]
    if tens == 0:
        if units:
            if words:
                words.append(odd)
            words.append(DIGITS[units])
        return words
    if tens == 1:
        words.append("mười")
    else:
        words += [DIGITS[tens], "mươi"]
    if units == 1:
        words.append("một" if tens == 1 else "mốt")
    elif units == 4:
        words.append("bốn" if tens == 1 else "tư")
    elif units == 5:
        words.append("lăm")
    elif units:
        words.append(DIGITS[units])
    return words


def _finite(amount: Decimal | int) -> Decimal:
    # bool is an int and a float carries its binary error: both are caller bugs, not amounts.
    if isinstance(amount, (bool, float)) or not isinstance(amount, (Decimal, int)):
        raise TypeError(f"amount_in_words_vi takes a Decimal or an int, not {type(amount).__name__}")
    try:
        value = Decimal(amount)
    except InvalidOperation as exc:  # pragma: no cover - Decimal(int) never fails
        raise TypeError(f"amount_in_words_vi cannot read {amount!r}") from exc
    if not value.is_finite():
        raise ValueError(f"amount_in_words_vi cannot read {value}")
    return value
