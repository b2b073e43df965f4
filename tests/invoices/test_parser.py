"""The parser alone (no database): every real e-invoice XML variant (docs/invoices.md) and every hostile input."""

from __future__ import annotations

import dataclasses
import time
from decimal import Decimal

import pytest

from invoices.parser import InvoiceParseError, parse_invoice, parse_tax_rate
from tests.invoices.factories import HOSTILE, VALID, fixture

VALID_FILES = sorted(p.name for p in VALID.glob("*.xml"))
HOSTILE_FILES = sorted(p.name for p in HOSTILE.glob("*.xml"))


@pytest.mark.parametrize("name", VALID_FILES)
def test_every_valid_variant_parses(name):
    invoice = parse_invoice(fixture(name))
    assert invoice.seller.tax_code
    assert invoice.number_int > 0
    assert invoice.lines
    assert isinstance(invoice.total_payable, Decimal)


@pytest.mark.parametrize("name", HOSTILE_FILES)
def test_every_hostile_file_is_refused_fast_with_a_reason(name):
    started = time.perf_counter()
    with pytest.raises(InvoiceParseError) as caught:
        parse_invoice(fixture(name))
    assert time.perf_counter() - started < 2
    assert caught.value.reason
    assert str(caught.value) == caught.value.message


def test_sample_values_and_vat_from_summary():
    invoice = parse_invoice(fixture("no_namespace.xml"))
    assert (invoice.form, invoice.series, invoice.number, invoice.number_int) == ("1", "C26TFX", "00000101", 101)
    assert invoice.seller.name == "CÔNG TY TNHH KIỂM THỬ"
    assert invoice.seller.bank_account == "0071000123456"
    assert invoice.buyer.tax_code == "0316543210"
    assert invoice.total_payable == Decimal("1100000.00")
    assert invoice.currency == "VND" and invoice.exchange_rate == Decimal("1")
    assert invoice.tax_authority_code.startswith("00A1B2")
    line = invoice.lines[0]
    assert (line.tax_rate_text, line.tax_rate, line.tax_amount, line.tax_amount_source) == (
        "10%",
        Decimal("10"),
        Decimal("100000.00"),
        "summary",
    )


def test_invoice_values_are_frozen():
    invoice = parse_invoice(fixture("no_namespace.xml"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        invoice.number = "2"  # type: ignore[misc]


@pytest.mark.parametrize(
    "name",
    [
        "default_namespace.xml",
        "prefixed_namespace.xml",
        "utf8_bom.xml",
        "processing_instructions.xml",
        "tdiep_wrapper.xml",
    ],
)
def test_namespaces_bom_pis_and_wrapper_give_the_same_invoice(name):
    reference = parse_invoice(fixture("no_namespace.xml"))
    variant = parse_invoice(fixture(name))
    assert variant.seller == reference.seller
    assert variant.total_payable == reference.total_payable
    assert variant.lines[0].name == reference.lines[0].name


def test_values_wrapped_over_lines_are_collapsed():
    invoice = parse_invoice(fixture("wrapped_values.xml"))
    assert invoice.seller.name == "CÔNG TY TNHH KIỂM THỬ"
    assert invoice.number_int == 107
    assert invoice.lines[0].name == "Dịch vụ bảo trì hệ thống"
    assert invoice.lines[0].quantity == Decimal("1.000000")
    assert invoice.lines[0].tax_rate_text == "10%"


def test_empty_elements_are_none_or_zero():
    note = parse_invoice(fixture("empty_elements.xml")).lines[1]
    assert note.nature == 4
    assert note.quantity is None and note.unit_price is None and note.unit == ""
    assert note.amount == Decimal("0.00") and note.tax_amount == Decimal("0.00")


def test_six_decimals_kept_on_quantities_and_prices():
    line = parse_invoice(fixture("six_decimals.xml")).lines[0]
    assert line.quantity == Decimal("3.333333")
    assert line.unit_price == Decimal("300000.123456")
    assert line.amount == Decimal("1000000.00")


def test_adjustment_with_negative_amounts():
    invoice = parse_invoice(fixture("adjustment_negative.xml"))
    assert invoice.related.kind == 2
    assert (invoice.related.series, invoice.related.number_int) == ("C26TFX", 101)
    assert invoice.total_payable == Decimal("-220000.00")
    assert invoice.lines[0].quantity == Decimal("-1.000000")
    assert invoice.lines[0].tax_amount == Decimal("-20000.00")


def test_every_tax_rate_form():
    invoice = parse_invoice(fixture("all_rates.xml"))
    got = {line.tax_rate_text: (line.tax_rate, line.tax_amount) for line in invoice.lines}
    assert got == {
        "10%": (Decimal("10"), Decimal("100000.00")),
        "8%": (Decimal("8"), Decimal("80000.00")),
        "5%": (Decimal("5"), Decimal("50000.00")),
        "0%": (Decimal("0"), Decimal("0.00")),
        "KCT": (None, Decimal("0.00")),
        "KKKNT": (None, Decimal("0.00")),
        "KHAC:3.5%": (Decimal("3.5"), Decimal("35000.00")),
    }
    assert len(invoice.rate_summaries) == 7


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("10%", Decimal("10")),
        ("8%", Decimal("8")),
        ("0%", Decimal("0")),
        ("KHAC:3.5%", Decimal("3.5")),
        ("KHAC: 5,26%", Decimal("5.26")),
        ("KCT", None),
        ("KKKNT", None),
        ("", None),
        ("abc", None),
    ],
)
def test_tax_rate_numbers(text, rate):
    assert parse_tax_rate(text) == rate


def test_vendor_elements_anywhere_and_ttkhac_kept():
    invoice = parse_invoice(fixture("vendor_elements.xml"))
    assert invoice.extras["TTChung"] == {"Fkey": "ABC-113"}
    assert invoice.seller.extras == {"SellerCode": "NCC-01"}
    assert invoice.total_payable == Decimal("1100000.00")


@pytest.mark.parametrize(
    ("name", "version"), [("schema_200.xml", "2.0.0"), ("no_namespace.xml", "2.0.1"), ("schema_210.xml", "2.1.0")]
)
def test_schema_versions(name, version):
    assert parse_invoice(fixture(name)).schema_version == version


def test_leading_zeros_do_not_change_the_business_number():
    a, b = parse_invoice(fixture("leading_zeros.xml")), parse_invoice(fixture("no_leading_zeros.xml"))
    assert (a.number, b.number) == ("0000116", "116")
    assert a.number_int == b.number_int == 116
    assert a.tax_authority_code == b.tax_authority_code == ""


def test_line_vat_from_ttkhac_wins_over_summary():
    line = parse_invoice(fixture("line_vat_ttkhac.xml")).lines[0]
    assert (line.tax_amount, line.tax_amount_source) == (Decimal("2400000.00"), "line")
    assert line.extras == {"VATAmount": "2400000"}


def test_summary_vat_is_distributed_and_adds_up():
    lines = parse_invoice(fixture("summary_distributed.xml")).lines
    assert [line.tax_amount_source for line in lines] == ["summary", "summary"]
    assert sum(line.tax_amount for line in lines) == Decimal("300001.00")


def test_vat_from_the_totals_block_without_summary():
    line = parse_invoice(fixture("computed_vat.xml")).lines[0]
    assert (line.tax_amount, line.tax_amount_source) == (Decimal("98765.00"), "total")


def test_foreign_currency_and_rate():
    invoice = parse_invoice(fixture("foreign_currency.xml"))
    assert (invoice.currency, invoice.exchange_rate) == ("USD", Decimal("25400.500000"))
    assert invoice.lines[0].unit_price == Decimal("150.250000")


def test_cdata_text():
    assert parse_invoice(fixture("cdata_values.xml")).lines[0].name == "Dịch vụ <bảo trì> & sửa chữa"


def test_shared_samples_parse():
    from invoices.demo import DEMO_DIR

    for path in DEMO_DIR.glob("*.xml"):
        assert parse_invoice(path.read_bytes()).lines


@pytest.mark.parametrize(
    ("name", "element", "words"),
    [
        ("xxe_external_entity.xml", "", "DTD"),
        ("billion_laughs.xml", "", "DTD"),
        ("wrong_root.xml", "Invoice", "wrong root"),
        ("missing_number.xml", "TTChung/SHDon", "missing"),
        ("missing_seller_tax_code.xml", "NDHDon/NBan/MST", "missing"),
        ("missing_total_payable.xml", "NDHDon/TToan/TgTTTBSo", "missing"),
        ("non_numeric_total.xml", "NDHDon/TToan/TgTTTBSo", "not a number"),
        ("non_numeric_number.xml", "TTChung/SHDon", "digits"),
        ("declared_latin1.xml", "", "encoding"),
        ("invalid_utf8.xml", "", "UTF-8"),
        ("utf16.xml", "", "UTF-16"),
        ("malformed.xml", "", "malformed"),
    ],
)
def test_errors_name_the_element_and_the_reason(name, element, words):
    with pytest.raises(InvoiceParseError) as caught:
        parse_invoice(fixture(name))
    assert caught.value.element == element
    assert words in caught.value.reason


def test_size_limit_before_parsing():
    with pytest.raises(InvoiceParseError, match="over the limit"):
        parse_invoice(fixture("no_namespace.xml"), max_bytes=100)


def test_entities_never_expand_even_past_the_prescan():
    # Defence in depth: the lxml parser itself neither loads DTDs nor resolves entities.
    from invoices.parser import _read_tree

    with pytest.raises(InvoiceParseError, match=r"not allowed|entity amplification"):
        _read_tree(fixture("billion_laughs.xml"))
    with pytest.raises(InvoiceParseError, match=r"not allowed|network entity"):
        _read_tree(fixture("external_dtd.xml"))
    with pytest.raises(InvoiceParseError, match="not allowed"):
        _read_tree(fixture("xxe_external_entity.xml"))


def test_namespace_on_inner_elements_only():
    invoice = parse_invoice(fixture("inner_namespace.xml"))
    assert invoice.seller.tax_code == "0312345678" and invoice.number_int == 123
