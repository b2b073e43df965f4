"""Vietnamese e-invoice XML (docs/invoices.md) → validated, immutable Python values.

Independent of Django on purpose: the importer, the benchmark and tests call it on raw bytes,
and nothing here touches the database. `parse_invoice(data)` either returns a `ParsedInvoice`
or raises `InvoiceParseError(element, reason)`.

Hostile input is refused *before* lxml sees it where possible (size, encoding, DOCTYPE), and
lxml itself runs with entity resolution, network access, DTD loading and huge trees off, so a
billion-laughs or XXE document fails in microseconds instead of expanding.

Real files vary (docs/invoices.md): no namespace, a default or prefixed namespace (all namespaces are
dropped, only local names matter), a UTF-8 BOM, processing instructions before the root, the
`TDiep/DLieu` transmission wrapper, values wrapped over lines, empty elements, six decimals,
negative amounts on adjustments, every `TSuat` form, vendor elements anywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from lxml import etree

from invoices import consistency, vat

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
MAX_NUMBER_DIGITS = 18

AMOUNT_PLACES = Decimal("0.01")
PRECISE_PLACES = Decimal("0.000001")
# Database columns: amounts numeric(20, 2), quantities and unit prices numeric(24, 6).
AMOUNT_LIMIT = Decimal("1e18")
PRECISE_LIMIT = Decimal("1e18")

# Schema versions (TTChung/PBan) of the current format (Decree 123/2020, Circular 78/2021).
SUPPORTED_SCHEMA_VERSIONS = ("2.0.0", "2.0.1", "2.1.0")
# How sellers write the đồng in DVTTe, folded (accents, case, spaces and dots removed); empty is VND too.
VND_ALIASES = frozenset({"vnd", "d", "vnđ", "đ", "dong", "đong", "đồng", "vndong", "vnđong", "vietnamdong", "₫"})

_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_DIGITS_RE = re.compile(r"^\d+$")
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
_RATE_RE = re.compile(r"^(?:KHAC\s*:\s*)?([+-]?\d+(?:[.,]\d+)?)\s*%?$", re.IGNORECASE)
_XML_DECL_RE = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_FORBIDDEN_MARKUP = (b"<!DOCTYPE", b"<!ENTITY", b"<!doctype", b"<!entity")
_UTF8_NAMES = {"utf-8", "utf8"}


class InvoiceParseError(ValueError):
    """What is wrong (`element`, a path such as `TTChung/SHDon`) and why (`reason`, in English).

    Refusals a user must act on carry a `code` and its `params` too, so the importer can say them
    in the reader's language (invoices.importing.PARSE_ERROR_MESSAGES)."""

    def __init__(self, element: str, reason: str, *, code: str = "", params: dict[str, str] | None = None):
        self.element = element
        self.reason = reason
        self.code = code
        self.params = params or {}
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return f"{self.element}: {self.reason}" if self.element else self.reason


@dataclass(frozen=True, slots=True)
class Party:
    name: str
    tax_code: str
    address: str
    bank_account: str = ""
    bank_name: str = ""
    phone: str = ""
    email: str = ""
    extras: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RateSummary:
    tax_rate_text: str
    tax_rate: Decimal | None
    taxable_amount: Decimal
    tax_amount: Decimal


@dataclass(frozen=True, slots=True)
class Line:
    position: int  # 1-based order in the file, independent of STT
    nature: int | None  # TChat: 1 goods/services, 2 promotion, 3 discount, 4 note, 5 special
    line_number: int | None  # STT as written
    code: str
    name: str
    unit: str
    quantity: Decimal | None
    unit_price: Decimal | None
    discount_rate: Decimal | None
    discount_amount: Decimal | None
    amount: Decimal  # ThTien: before VAT
    tax_rate_text: str  # as written: 10%, KCT, KHAC:3.5%, …
    tax_rate: Decimal | None  # percent, where one exists
    tax_amount: Decimal
    tax_amount_source: str  # "line" (TTKhac), "summary" (per-rate summary) or "computed"
    extras: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RelatedInvoice:
    kind: int  # TCHDon: 1 replacement, 2 adjustment
    form: str
    series: str
    number: str
    number_int: int | None
    issue_date: date | None
    note: str = ""
    from_line_text: bool = False  # no TTHDLQuan: read from a line's text ("điều chỉnh giảm ... hóa đơn số ...")


@dataclass(frozen=True, slots=True)
class ParsedInvoice:
    schema_version: str
    title: str
    form: str  # KHMSHDon
    series: str  # KHHDon
    number: str  # SHDon as written (leading zeros kept)
    number_int: int  # business key
    issue_date: date
    currency: str  # ISO code: VND for every way of writing the đồng
    currency_as_written: str  # DVTTe as the file writes it (đ, VNĐ, Đồng, …)
    exchange_rate: Decimal
    payment_method_text: str
    issuer_tax_code: str  # MSTTCGP: the e-invoice provider
    tax_authority_code: str  # MCCQT, "" when absent
    related: RelatedInvoice | None
    seller: Party
    buyer: Party
    lines: tuple[Line, ...]
    rate_summaries: tuple[RateSummary, ...]
    total_before_tax: Decimal
    total_tax: Decimal
    trade_discount: Decimal
    other_fees: Decimal
    total_payable: Decimal
    total_in_words: str
    extras: dict[str, dict[str, str]] = field(default_factory=dict)
    # Where lines, per-rate summary and header disagree (invoices.consistency); the payable stays TgTTTBSo.
    findings: tuple[consistency.Finding, ...] = ()


# --- the hardened XML reader ------------------------------------------------------------------


def _make_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        remove_blank_text=False,
        collect_ids=False,
    )


_PARSER = _make_parser()


def _check_bytes(data: bytes, max_bytes: int) -> bytes:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InvoiceParseError("", "the content is not bytes")
    data = bytes(data)
    if len(data) > max_bytes:
        raise InvoiceParseError("", f"the file is {len(data):,} bytes, over the limit of {max_bytes:,} bytes")
    if not data.strip():
        raise InvoiceParseError("", "the file is empty")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data[:4] in (b"<\x00?\x00", b"\x00<\x00?"):
        raise InvoiceParseError("", "wrong encoding: the file is UTF-16, e-invoices must be UTF-8")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    declared = _XML_DECL_RE.match(data[:200])
    if declared and declared.group(1).decode("ascii").lower() not in _UTF8_NAMES:
        raise InvoiceParseError(
            "", f"wrong encoding: the file declares {declared.group(1).decode('ascii')}, e-invoices must be UTF-8"
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvoiceParseError("", f"wrong encoding: the file is not valid UTF-8 (byte {exc.start:,})") from None
    for marker in _FORBIDDEN_MARKUP:
        if marker in data:
            raise InvoiceParseError("", "document type declarations (DTD) and entities are not allowed")
    return data


def _read_tree(data: bytes) -> etree._Element:
    try:
        root = etree.fromstring(data, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        message = str(exc.msg or exc).split("\n", 1)[0]
        line = f" (line {exc.lineno})" if getattr(exc, "lineno", None) else ""
        raise InvoiceParseError("", f"malformed XML{line}: {message}") from None
    except (ValueError, etree.LxmlError) as exc:
        raise InvoiceParseError("", f"malformed XML: {exc}") from None
    if root is None:
        raise InvoiceParseError("", "malformed XML: no root element")
    doc = root.getroottree().docinfo
    if doc.internalDTD is not None or doc.externalDTD is not None or doc.doctype:
        raise InvoiceParseError("", "document type declarations (DTD) and entities are not allowed")
    return root


def _local(tag: str) -> str:
    if tag[0] == "{":
        return tag.rpartition("}")[2]
    return tag.rpartition(":")[2] if ":" in tag else tag


def _namespaced(root: etree._Element) -> bool:
    """Whether the invoice's own elements carry namespaces (looked at near the root; the
    signature block always has one and does not matter)."""
    for el in (root, *root):
        tag = el.tag
        if isinstance(tag, str) and (tag[0] == "{" or ":" in tag):
            return True
    return False


def _strip_namespaces(root: etree._Element) -> None:
    """Only local names matter: vendors use no, default or prefixed namespaces."""
    for el in root.iter():
        tag = el.tag
        if isinstance(tag, str) and (tag[0] == "{" or ":" in tag):
            el.tag = _local(tag)


# --- value readers -----------------------------------------------------------------------------


def _text(el: etree._Element | None) -> str:
    if el is None:
        return ""
    value = el.text
    if not value:
        return ""
    # Values wrapped over lines: collapse every run of whitespace.
    return " ".join(value.split())


Fields = dict[str, str]


def _fields(el: etree._Element | None) -> Fields:
    """Direct children's texts by local name (the first occurrence wins): one pass per element."""
    if el is None:
        return {}
    result: Fields = {}
    for child in el:
        tag = child.tag
        if tag not in result and isinstance(tag, str):
            text = child.text
            if not text:
                result[tag] = ""
            elif "\n" in text or "  " in text or "\t" in text or text[0] == " " or text[-1] == " ":
                result[tag] = " ".join(text.split())  # wrapped over lines
            else:
                result[tag] = text
    return result


def _get(fields: Fields, name: str) -> str:
    return fields.get(name, "")


def _required(fields: Fields, name: str, path: str) -> str:
    value = fields.get(name, "")
    if not value:
        raise InvoiceParseError(f"{path}/{name}", "missing required value")
    return value


def _decimal(raw: str, path: str, *, places: Decimal = AMOUNT_PLACES, limit: Decimal = AMOUNT_LIMIT) -> Decimal:
    value = raw.replace(" ", "") if " " in raw else raw
    if not _NUMBER_RE.match(value):
        raise InvoiceParseError(path, f"not a number: {raw[:40]!r}")
    try:
        number = Decimal(value)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid literals
        raise InvoiceParseError(path, f"not a number: {raw[:40]!r}") from None
    if number.adjusted() >= 18 and abs(number) >= limit:
        raise InvoiceParseError(path, f"number out of range: {raw[:40]!r}")
    return number.quantize(places, rounding=ROUND_HALF_UP)


def _amount(fields: Fields, name: str, path: str, *, required: bool = False) -> Decimal | None:
    raw = fields.get(name, "")
    if not raw:
        if required:
            raise InvoiceParseError(f"{path}/{name}", "missing required value")
        return None
    return _decimal(raw, f"{path}/{name}")


def _precise(fields: Fields, name: str, path: str) -> Decimal | None:
    raw = fields.get(name, "")
    if not raw:
        return None
    return _decimal(raw, f"{path}/{name}", places=PRECISE_PLACES, limit=PRECISE_LIMIT)


def _small_int(raw: str, path: str) -> int | None:
    if not raw:
        return None
    value = raw.replace(" ", "") if " " in raw else raw
    if len(value) > 9 or not _DIGITS_RE.match(value):
        raise InvoiceParseError(path, f"not a whole number: {raw[:40]!r}")
    return int(value)


def _invoice_number(raw: str, path: str) -> int:
    value = raw.replace(" ", "")
    if not _DIGITS_RE.match(value):
        raise InvoiceParseError(path, f"the invoice number must be digits: {raw[:40]!r}")
    if len(value.lstrip("0")) > MAX_NUMBER_DIGITS:
        raise InvoiceParseError(path, f"the invoice number is too long: {raw[:40]!r}")
    return int(value)


def _date(raw: str, path: str) -> date:
    match = _DATE_RE.match(raw)
    if not match:
        raise InvoiceParseError(path, f"not a date (YYYY-MM-DD): {raw[:40]!r}")
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        raise InvoiceParseError(path, f"not a valid date: {raw[:40]!r}") from None


def parse_tax_rate(text: str) -> Decimal | None:
    """`10%` → 10, `KHAC:3.5%` → 3.5; `KCT`, `KKKNT` and other non-rates → None."""
    match = _RATE_RE.match(text.strip())
    if not match:
        return None
    return Decimal(match.group(1).replace(",", "."))


def _rate_key(text: str) -> str:
    return "".join(text.split()).upper()


def _extras(el: etree._Element | None) -> dict[str, str]:
    """`TTKhac/TTin*` (TTruong, KDLieu, DLieu) → {TTruong: DLieu}."""
    if el is None:
        return {}
    block = el.find("TTKhac")
    if block is None:
        return {}
    result: dict[str, str] = {}
    for item in block.iter("TTin"):
        f = _fields(item)
        key = f.get("TTruong", "")
        if key:
            result[key[:200]] = f.get("DLieu", "")[:2000]
    return result


def _party(el: etree._Element | None, path: str, *, required: bool) -> Party:
    if el is None:
        if required:
            raise InvoiceParseError(path, "missing required element")
        return Party(name="", tax_code="", address="")
    f = _fields(el)
    if required:
        name = _required(f, "Ten", path)
        tax_code = _required(f, "MST", path)
    else:
        name, tax_code = _get(f, "Ten"), _get(f, "MST")
    return Party(
        name=name[:400],
        tax_code=_short(tax_code, 20, f"{path}/MST"),
        address=_get(f, "DChi")[:400],
        bank_account=_get(f, "STKNHang")[:50],
        bank_name=_get(f, "TNHang")[:400],
        phone=_get(f, "SDThoai")[:50],
        email=_get(f, "DCTDTu")[:254],
        extras=_extras(el),
    )


def _too_long(path: str, value: str) -> str:
    raise InvoiceParseError(path, f"value too long: {value[:40]!r}")


def _short(value: str, limit: int, path: str) -> str:
    if len(value) > limit:
        _too_long(path, value)
    return value


# --- the invoice ------------------------------------------------------------------------------


def _find_invoice(root: etree._Element) -> etree._Element:
    if root.tag == "HDon":
        return root
    if root.tag == "TDiep":
        dlieu = root.find("DLieu")
        hdon = dlieu.find("HDon") if dlieu is not None else None
        if hdon is None:
            raise InvoiceParseError("TDiep/DLieu/HDon", "the message carries no invoice")
        return hdon
    raise InvoiceParseError(str(root.tag)[:60], "wrong root element: expected HDon (or TDiep/DLieu/HDon)")


def parse_invoice(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedInvoice:
    """Parse and validate one e-invoice. Raises `InvoiceParseError` naming the element."""
    data = _check_bytes(data, max_bytes)
    root = _read_tree(data)
    if _namespaced(root):
        _strip_namespaces(root)
        return _parse_tree(root)
    try:
        return _parse_tree(root)
    except InvoiceParseError:
        if b"xmlns" not in data:
            raise
        _strip_namespaces(root)  # a vendor put only inner elements in a namespace
        return _parse_tree(root)


def _parse_tree(root: etree._Element) -> ParsedInvoice:
    hdon = _find_invoice(root)

    dlhdon = hdon.find("DLHDon")
    if dlhdon is None:
        raise InvoiceParseError("HDon/DLHDon", "missing required element")
    ttchung = dlhdon.find("TTChung")
    if ttchung is None:
        raise InvoiceParseError("DLHDon/TTChung", "missing required element")
    ndhdon = dlhdon.find("NDHDon")
    if ndhdon is None:
        raise InvoiceParseError("DLHDon/NDHDon", "missing required element")

    p = "TTChung"
    tc = _fields(ttchung)
    schema_version = _schema_version(tc)
    form = _short(_required(tc, "KHMSHDon", p), 20, f"{p}/KHMSHDon")
    series = _short(_required(tc, "KHHDon", p), 20, f"{p}/KHHDon")
    number = _required(tc, "SHDon", p).replace(" ", "")
    number_int = _invoice_number(number, f"{p}/SHDon")
    issue_date = _date(_required(tc, "NLap", p), f"{p}/NLap")
    currency_written = _get(tc, "DVTTe")[:20]
    currency = currency_code(currency_written)
    exchange_rate = _precise(tc, "TGia", p) or Decimal("1.000000")
    if exchange_rate <= 0:
        raise InvoiceParseError(f"{p}/TGia", "the exchange rate must be positive")

    related = _related(ttchung.find("TTHDLQuan"))

    seller = _party(ndhdon.find("NBan"), "NDHDon/NBan", required=True)
    buyer = _party(ndhdon.find("NMua"), "NDHDon/NMua", required=False)

    ttoan = ndhdon.find("TToan")
    if ttoan is None:
        raise InvoiceParseError("NDHDon/TToan", "missing required element")
    summaries = _summaries(ttoan)
    raw_lines = _raw_lines(ndhdon.find("DSHHDVu"))
    tp = "NDHDon/TToan"
    tt = _fields(ttoan)
    header_tax = _amount(tt, "TgTThue", tp)
    lines = _lines_with_vat(raw_lines, summaries, header_tax, currency)

    total_payable = _amount(tt, "TgTTTBSo", tp, required=True)
    assert total_payable is not None  # required=True raises instead (narrows the type)
    header_before_tax = total_before_tax = _amount(tt, "TgTCThue", tp)
    if total_before_tax is None:
        total_before_tax = sum((line.amount for line in lines), Decimal("0.00"))
    total_tax = header_tax
    if total_tax is None:
        total_tax = sum((line.tax_amount for line in lines), Decimal("0.00"))

    extras: dict[str, dict[str, str]] = {}
    for section, el in (("TTChung", ttchung), ("NDHDon", ndhdon), ("TToan", ttoan), ("DLHDon", dlhdon)):
        values = _extras(el)
        if values:
            extras[section] = values

    trade_discount = _amount(tt, "TTCKTMai", tp) or Decimal("0.00")
    other_fees = _amount(tt, "TGTKhac", tp) or Decimal("0.00")
    findings = consistency.check(
        lines=lines,
        summaries=summaries,
        header_before_tax=header_before_tax,
        header_tax=header_tax,
        trade_discount=trade_discount,
        other_fees=other_fees,
        payable=total_payable,
    )
    if related is None:
        related = related_from_line_text(lines, total_payable, series=series, number_int=number_int)

    mccqt = _text(hdon.find("MCCQT"))
    return ParsedInvoice(
        schema_version=schema_version,
        title=_get(tc, "THDon")[:200],
        form=form,
        series=series,
        number=_short(number, 20, f"{p}/SHDon"),
        number_int=number_int,
        issue_date=issue_date,
        currency=currency,
        currency_as_written=currency_written,
        exchange_rate=exchange_rate,
        payment_method_text=_get(tc, "HTTToan")[:100],
        issuer_tax_code=_get(tc, "MSTTCGP")[:20],
        tax_authority_code=_short(mccqt, 64, "HDon/MCCQT"),
        related=related,
        seller=seller,
        buyer=buyer,
        lines=lines,
        rate_summaries=summaries,
        total_before_tax=total_before_tax,
        total_tax=total_tax,
        trade_discount=trade_discount,
        other_fees=other_fees,
        total_payable=total_payable,
        total_in_words=_get(tt, "TgTTTBChu")[:500],
        extras=extras,
        findings=findings,
    )


def _related(el: etree._Element | None) -> RelatedInvoice | None:
    if el is None:
        return None
    p = "TTChung/TTHDLQuan"
    f = _fields(el)
    kind_raw = _get(f, "TCHDon")
    if not kind_raw and not _get(f, "SHDCLQuan"):
        return None  # an empty block some vendors always write
    kind = _small_int(kind_raw, f"{p}/TCHDon")
    if kind is None:
        raise InvoiceParseError(f"{p}/TCHDon", "missing required value")
    number = _get(f, "SHDCLQuan").replace(" ", "")
    number_int = _invoice_number(number, f"{p}/SHDCLQuan") if number else None
    issued = _get(f, "NLHDCLQuan")
    form, series = _form_and_series("".join(_get(f, "KHMSHDCLQuan").split()), "".join(_get(f, "KHHDCLQuan").split()))
    return RelatedInvoice(
        kind=kind,
        form=form[:20],
        series=series[:20],
        number=number[:20],
        number_int=number_int,
        issue_date=_date(issued, f"{p}/NLHDCLQuan") if issued else None,
        note=_get(f, "GChu")[:500],
    )


_FORM_SERIES_RE = re.compile(r"^([1-9])([CK]\d{2}[A-Z]{3})$")


def _form_and_series(form: str, series: str) -> tuple[str, str]:
    """Corrections often write the original's series with its form in front (`1C25TAA`): split it."""
    match = _FORM_SERIES_RE.match(series.upper())
    if match and form in ("", match.group(1)):
        return match.group(1), match.group(2)
    return form, series


def _summaries(ttoan: etree._Element) -> tuple[RateSummary, ...]:
    block = ttoan.find("THTTLTSuat")
    if block is None:
        return ()
    result = []
    for index, item in enumerate(block.iter("LTSuat"), start=1):
        p = f"TToan/THTTLTSuat/LTSuat[{index}]"
        f = _fields(item)
        text = _get(f, "TSuat")[:20]
        result.append(
            RateSummary(
                tax_rate_text=text,
                tax_rate=parse_tax_rate(text),
                taxable_amount=_amount(f, "ThTien", p) or Decimal("0.00"),
                tax_amount=_amount(f, "TThue", p) or Decimal("0.00"),
            )
        )
    return tuple(result)


def _raw_lines(block: etree._Element | None) -> list[dict[str, Any]]:
    if block is None:
        return []
    result = []
    for position, item in enumerate(block.iter("HHDVu"), start=1):
        p = f"DSHHDVu/HHDVu[{position}]"
        extras = _extras(item)
        f = _fields(item)
        nature = _small_int(_get(f, "TChat"), f"{p}/TChat")
        quantity = _precise(f, "SLuong", p)
        unit_price = _precise(f, "DGia", p)
        amount = _amount(f, "ThTien", p)
        if amount is None:
            if quantity is not None and unit_price is not None:
                amount = (quantity * unit_price).quantize(AMOUNT_PLACES)
            else:
                amount = Decimal("0.00")
        rate_text = _get(f, "TSuat")[:20]
        result.append(
            {
                "position": position,
                "nature": nature,
                "line_number": _small_int(_get(f, "STT"), f"{p}/STT"),
                "code": _get(f, "MHHDVu")[:100],
                "name": _get(f, "THHDVu")[:1000],
                "unit": _get(f, "DVTinh")[:50],
                "quantity": quantity,
                "unit_price": unit_price,
                "discount_rate": _precise(f, "TLCKhau", p),
                "discount_amount": _amount(f, "STCKhau", p),
                "amount": amount,
                "tax_rate_text": rate_text,
                "tax_rate": parse_tax_rate(rate_text),
                "line_vat": vat.stated_vat(nature, amount, _get(f, "TThue"), extras),
                "extras": extras,
            }
        )
    return result


def _lines_with_vat(
    raw: list[dict[str, Any]], summaries: tuple[RateSummary, ...], header_tax: Decimal | None, currency: str
) -> tuple[Line, ...]:
    """Line VAT from where the file states it, derived only where it does not (invoices.vat)."""
    resolved = vat.resolve(
        [
            vat.VatLine(
                position=item["position"],
                nature=item["nature"],
                amount=item["amount"],
                rate_key=_rate_key(item["tax_rate_text"]),
                rate=item["tax_rate"],
                stated=item["line_vat"],
            )
            for item in raw
        ],
        [vat.VatSummary(rate_key=_rate_key(s.tax_rate_text), tax_amount=s.tax_amount) for s in summaries],
        header_tax,
        currency,
    )
    lines = []
    for item in raw:
        tax_amount, source = resolved[item["position"]]
        del item["line_vat"]
        lines.append(Line(**item, tax_amount=tax_amount, tax_amount_source=source))
    return tuple(lines)


# --- schema version, currency, a credit note's original in its line text ----------------------------


def _schema_version(tc: Fields) -> str:
    """The current format's versions are read; the pre-Decree-123 one (1.0.0, issue date in `TDLap`)
    and unknown ones are refused naming the version, before any other field is looked at."""
    version = "".join(_get(tc, "PBan").split())[:10]
    if version in SUPPORTED_SCHEMA_VERSIONS:
        return version
    old = version.startswith("1.") or version == "1"
    if not version:
        if "NLap" in tc or "TDLap" not in tc:
            return ""  # no version written: read as the current format
        old = True
    if old:
        raise InvoiceParseError(
            "TTChung/PBan",
            f"schema version {version or '(none, date in TDLap)'} is the e-invoice format from before"
            f" Decree 123/2020; only {', '.join(SUPPORTED_SCHEMA_VERSIONS)} are read",
            code="old_schema",
            params={"version": version or "1.0.0"},
        )
    raise InvoiceParseError(
        "TTChung/PBan",
        f"unknown schema version {version}: only {', '.join(SUPPORTED_SCHEMA_VERSIONS)} are read",
        code="unknown_schema",
        params={"version": version},
    )


_VND_NAMES = frozenset({"d", "vnd", "dong", "vndong", "vietnamdong", "vietnamesedong"})


def currency_code(written: str) -> str:
    """`DVTTe` as an ISO code: every way sellers write the đồng (`đ`, `VNĐ`, `Đồng`, `vnd`, `VN Đồng`,
    empty) is VND; other currencies are their three-letter code in any case."""
    text = written.strip()
    if not text or text == "₫":
        return "VND"
    name = vat.key_name(text)
    if name in _VND_NAMES:
        return "VND"
    if re.fullmatch(r"[a-z]{3}", name) and re.fullmatch(r"[A-Za-z]{3}", "".join(text.split())):
        return name.upper()
    raise InvoiceParseError(
        "TTChung/DVTTe",
        f"not a currency code: {text[:20]!r}",
        code="currency",
        params={"value": text[:20]},
    )


# In a line's text, folded (no accents, lower case): "điều chỉnh giảm ... hóa đơn (GTGT) số 0000123
# ký hiệu 1C25TAA ngày 15/01/2025" and its variants (HĐ, "số:", "mẫu số 1", "ngày 15 tháng 01 năm 2025").
_ADJUST_RE = re.compile(r"\bdieu\s+chinh\b")
_REF_RE = re.compile(
    r"\b(?:hoa\s+don|hd)(?:\s+(?:gtgt|gia\s+tri\s+gia\s+tang|dien\s+tu|ban\s+hang))*"
    r"(?:\s+(?:mau\s+so|ky\s+hieu|kh)\s*[:.]?\s*[0-9a-z/]+)*\s*(?:,\s*)?so\s*[:.]?\s*(\d{1,18})\b"
)
_SERIES_RE = re.compile(r"\b(?:ky\s+hieu|kh)\s*[:.]?\s*([1-9])?\s*([ck]\d{2}[a-z]{3})\b")
_FORM_RE = re.compile(r"\bmau\s+so\s*[:.]?\s*([1-9])\b")
_DATE_RE_TEXT = re.compile(
    r"\bngay\s*[:.]?\s*(\d{1,2})\s*(?:[/.-]|\s+thang\s+)(\d{1,2})\s*(?:[/.-]|\s+nam\s+)(\d{4})\b"
)


def related_from_line_text(
    lines: tuple[Line, ...], total_payable: Decimal, *, series: str, number_int: int
) -> RelatedInvoice | None:
    """A credit note that names its original only in a line's text ("Điều chỉnh giảm … hóa đơn số …").

    Read only when it cannot be mistaken: the invoice has no `TTHDLQuan`, it reduces (a negative
    amount payable, or "điều chỉnh giảm"), the text says "điều chỉnh" and names an invoice number,
    and every line that names one names the same invoice (other than this one)."""
    found: dict[tuple[int, str], tuple[str, date | None, str]] = {}
    decrease = total_payable < 0
    for line in lines:
        text = vat.fold(line.name)
        if not _ADJUST_RE.search(text):
            continue
        decrease = decrease or "dieu chinh giam" in " ".join(text.split())
        numbers = {int(reference.group(1)) for reference in _REF_RE.finditer(text)}
        if not numbers:
            continue
        if len(numbers) > 1:
            return None  # one line names several invoices: not a guess to make
        number = numbers.pop()
        series_match = _SERIES_RE.search(text)
        form_match = _FORM_RE.search(text)
        series_form = (series_match.group(1) or "") if series_match else ""
        form = form_match.group(1) if form_match else series_form
        rel_series = series_match.group(2).upper() if series_match else ""
        when = _DATE_RE_TEXT.search(text)
        issued = None
        if when:
            try:
                issued = date(int(when.group(3)), int(when.group(2)), int(when.group(1)))
            except ValueError:
                issued = None
        found[(number, rel_series)] = (form, issued, line.name[:500])
    if len(found) != 1 or not decrease:
        return None
    (number, rel_series), (form, issued, text) = next(iter(found.items()))
    if number == number_int and rel_series in ("", series.upper()):
        return None  # names itself
    return RelatedInvoice(
        kind=2,
        form=form,
        series=rel_series,
        number=str(number),
        number_int=number,
        issue_date=issued,
        note=text,
        from_line_text=True,
    )
