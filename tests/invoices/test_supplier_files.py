"""Issue 18: e-invoices as suppliers actually send them. Each quirk has a generated file of its own
(tests/invoices/xmlgen.py), read by the parser and, where it matters, imported."""

from __future__ import annotations

import unicodedata
from datetime import date
from decimal import Decimal

import pytest

from invoices.importing import parse_error_text
from invoices.models import Invoice, InvoiceStatus, RelatedMatch
from invoices.parser import InvoiceParseError, parse_invoice
from invoices.services import invoices_import
from invoices.vat import distribute
from tests.invoices.factories import import_one, zip_of
from tests.invoices.xmlgen import L, invoice

D = Decimal


def vat_of(content: bytes) -> list[tuple[Decimal, str]]:
    return [(line.tax_amount, line.tax_amount_source) for line in parse_invoice(content).lines]


# --- currency ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    ["VND", "vnd", " VND ", "đ", "Đ", "VNĐ", "vnđ", "Đồng", "đồng", "ĐỒNG", "VN Đồng", "V.N.D", "₫", ""],
)
def test_currency_aliases_of_the_dong_are_vnd_and_the_written_value_is_kept(written):
    parsed = parse_invoice(invoice(currency=written))
    assert parsed.currency == "VND"
    assert parsed.currency_as_written == written.strip()


def test_currency_decomposed_unicode_dong_is_vnd():
    written = unicodedata.normalize("NFD", "Đồng")
    assert parse_invoice(invoice(currency=written)).currency == "VND"


def test_currency_missing_element_is_vnd():
    parsed = parse_invoice(invoice(currency=None))
    assert (parsed.currency, parsed.currency_as_written) == ("VND", "")


def test_currency_other_codes_in_any_case():
    assert parse_invoice(invoice(currency="usd")).currency == "USD"


def test_currency_that_is_not_one_is_refused_naming_it():
    with pytest.raises(InvoiceParseError) as caught:
        parse_invoice(invoice(currency="US Dollar"))
    assert caught.value.element == "TTChung/DVTTe" and caught.value.code == "currency"
    assert "US Dollar" in parse_error_text(caught.value)


def test_currency_as_written_is_stored(finance):
    stored = import_one(invoice(currency="VNĐ"))
    assert (stored.currency, stored.currency_as_written) == ("VND", "VNĐ")


# --- schema versions -----------------------------------------------------------------------------


def test_schema_100_with_tdlap_is_refused_naming_the_version():
    content = invoice(version="1.0.0", date_tag="TDLap")
    with pytest.raises(InvoiceParseError) as caught:
        parse_invoice(content)
    assert caught.value.code == "old_schema"
    assert caught.value.element == "TTChung/PBan"
    text = parse_error_text(caught.value)
    assert "1.0.0" in text and "Decree 123" in text and "NLap" not in text


def test_unversioned_file_with_tdlap_is_the_old_format():
    with pytest.raises(InvoiceParseError) as caught:
        parse_invoice(invoice(version=None, date_tag="TDLap"))
    assert caught.value.code == "old_schema"


def test_unknown_schema_version_is_refused_naming_it():
    with pytest.raises(InvoiceParseError) as caught:
        parse_invoice(invoice(version="3.0.0"))
    assert caught.value.code == "unknown_schema"
    assert "3.0.0" in parse_error_text(caught.value)


def test_old_schema_import_result_names_the_version(finance):
    report = invoices_import(uploads=[("old.xml", invoice(version="1.0.0", date_tag="TDLap"))], actor=finance)
    entry = report.uploads[0].entries[0]
    assert entry.result == "failure"
    assert "1.0.0" in entry.reason and "Decree 123" in entry.reason
    assert not Invoice.objects.exists()


@pytest.mark.parametrize("version", ["2.0.0", "2.0.1", "2.1.0"])
def test_current_schema_versions_are_read(version):
    assert parse_invoice(invoice(version=version)).schema_version == version


# --- discount and promotion lines ---------------------------------------------------------------


def test_trade_discount_line_written_positive_carries_negative_vat():
    content = invoice(
        lines=[L("10000000"), L("1000000", nature=3, name="Chiết khấu thương mại")],
        summaries=[("10%", "9000000", "900000")],
        before="9000000",
    )
    assert vat_of(content) == [(D("1000000.00"), "summary"), (D("-100000.00"), "summary")]


def test_trade_discount_line_with_stated_positive_vat_is_made_negative():
    content = invoice(
        lines=[L("10000000"), L("1000000", nature=3, ttkhac={"VATAmount": "100000"})],
        summaries=[("10%", "9000000", "900000")],
        before="9000000",
    )
    assert vat_of(content) == [(D("1000000.00"), "summary"), (D("-100000.00"), "line")]


def test_promotion_line_carries_no_vat_and_takes_no_share_of_the_summary():
    content = invoice(
        lines=[L("2000000"), L("500000", nature=2, name="Hàng khuyến mại không thu tiền")],
        summaries=[("10%", "2000000", "200000")],
        before="2000000",
    )
    assert vat_of(content) == [(D("200000.00"), "summary"), (D("0.00"), "computed")]


def test_discount_on_the_totals_block_only():
    content = invoice(lines=[L("3000000"), L("300000", nature=3)], before="2700000", tax="270000")
    assert vat_of(content) == [(D("300000.00"), "total"), (D("-30000.00"), "total")]


# --- where the line VAT is stated -----------------------------------------------------------------


@pytest.mark.parametrize("key", ["VATAmount", "TongTien_Thue", "TienThue", "Tien_Thue_GTGT", "TaxAmount"])
def test_line_vat_from_vendor_ttkhac_keys(key):
    content = invoice(lines=[L("1000000", ttkhac={key: "100000"})], summaries=[("10%", "1000000", "99999")])
    assert vat_of(content) == [(D("100000.00"), "line")]


def test_line_vat_from_a_tthue_element_on_the_line():
    assert vat_of(invoice(lines=[L("1000000", tthue="80000", rate="8%")], tax="80000")) == [(D("80000.00"), "line")]


def test_line_vat_from_a_line_total_including_vat():
    content = invoice(lines=[L("1000000", ttkhac={"ThanhTienSauThue": "1100000"})], tax="100000")
    assert vat_of(content) == [(D("100000.00"), "line")]


def test_a_vendor_key_that_is_not_a_number_states_nothing():
    content = invoice(lines=[L("1000000", ttkhac={"VATAmount": "không chịu thuế"})], tax="100000")
    assert vat_of(content) == [(D("100000.00"), "total")]


def test_the_summary_takes_off_what_lines_of_its_rate_state():
    content = invoice(
        lines=[L("1000000", ttkhac={"VATAmount": "100000"}), L("2000000"), L("1000000")],
        summaries=[("10%", "4000000", "400000")],
    )
    assert vat_of(content) == [(D("100000.00"), "line"), (D("200000.00"), "summary"), (D("100000.00"), "summary")]


def test_rate_only_adjustment_vat_from_the_summary():
    # An adjustment that only changes a rate: a line with no amount and no rate, the VAT in the summary.
    content = invoice(
        lines=[L("0", rate=None, name="Điều chỉnh thuế suất từ 10% xuống 8% của hóa đơn số 120")],
        summaries=[("8%", "0", "-20000")],
        before="0",
        related={"TCHDon": "2", "SHDCLQuan": "120"},
    )
    assert vat_of(content) == [(D("-20000.00"), "summary")]


def test_totals_block_vat_shared_by_amount_times_rate():
    content = invoice(lines=[L("3400000", rate="8%"), L("5000000", rate="10%"), L("200000", rate="KCT")], tax="772000")
    assert vat_of(content) == [(D("272000.00"), "total"), (D("500000.00"), "total"), (D("0.00"), "total")]


def test_summary_vat_reconciles_to_the_dong_without_drift():
    # Each line's 10% is 3,333.5: rounded per line they make 10,002, one đồng over the summary's 10,001.
    content = invoice(lines=[L("33335"), L("33335"), L("33335")], summaries=[("10%", "100005", "10001")])
    vats = vat_of(content)
    assert sum(v for v, _s in vats) == D("10001")
    assert sorted(v for v, _s in vats) == [D("3333"), D("3334"), D("3334")]


def test_totals_block_vat_reconciles_to_the_dong_without_drift():
    content = invoice(lines=[L("33335"), L("33335"), L("33335")], tax="10001")
    assert sum(v for v, _s in vat_of(content)) == D("10001")


def test_vat_computed_only_when_the_file_states_none():
    assert vat_of(invoice(lines=[L("1234567", rate="8%")], tax=None)) == [(D("98765.00"), "computed")]


def test_largest_remainder_shares_add_up_exactly_with_signed_weights():
    shares = distribute(D("90001"), [D("1000000"), D("-100000"), D("333333")], D("1"))
    assert sum(shares) == D("90001") and all(s == s.to_integral_value() for s in shares)
    assert distribute(D("10"), [D("0"), D("0")], D("1")) == [D("10.00"), D("0.00")]


# --- corrections and their originals, in either order --------------------------------------------


def original(number: str = "00000120", *, series: str = "C26TAA", issue_date: str = "2026-09-01") -> bytes:
    return invoice(number=number, series=series, issue_date=issue_date)


def adjustment(number: str = "00000130", kind: str = "2", **related: str) -> bytes:
    return invoice(
        number=number,
        lines=[L("-100000")],
        summaries=[("10%", "-100000", "-10000")],
        related={"TCHDon": kind, **related},
    )


def test_adjustment_naming_only_the_number_links_when_the_original_came_first(finance):
    first = import_one(original(), name="o.xml")
    correction = import_one(adjustment(SHDCLQuan="120"), name="a.xml")
    assert (correction.original_id, correction.related_match) == (first.pk, RelatedMatch.LINKED)


def test_adjustment_imported_before_its_original_links_when_the_original_arrives(finance):
    correction = import_one(adjustment(SHDCLQuan="00000120"), name="a.xml")
    assert (correction.original_id, correction.related_match) == (None, RelatedMatch.NOT_FOUND)
    report = invoices_import(uploads=[("o.xml", original())], actor=finance)
    entry = report.uploads[0].entries[0]
    correction.refresh_from_db()
    assert (correction.original_id, correction.related_match) == (entry.invoice_id, RelatedMatch.LINKED)
    assert any(str(correction.pk) in note for note in entry.as_dict()["notes"])
    assert Invoice.objects.get(pk=entry.invoice_id).status == InvoiceStatus.IMPORTED  # an adjustment replaces nothing


def test_replacement_imported_before_its_original_obsoletes_it_on_arrival(finance):
    replacement = import_one(adjustment(kind="1", SHDCLQuan="120"), name="r.xml")
    first = import_one(original(), name="o.xml")
    replacement.refresh_from_db()
    assert replacement.original_id == first.pk
    assert first.status == InvoiceStatus.REDUNDANT


def test_correction_first_in_the_same_zip_links(finance):
    report = invoices_import(
        uploads=[("both.zip", zip_of([("a.xml", adjustment(SHDCLQuan="120")), ("o.xml", original())]))], actor=finance
    )
    correction_id, original_id = (e.invoice_id for e in report.uploads[0].entries)
    assert Invoice.objects.get(pk=correction_id).original_id == original_id


def test_several_matching_originals_are_ambiguous_and_not_linked(finance):
    import_one(original(series="C25TAA", issue_date="2025-09-01"), name="o25.xml")
    import_one(original(series="C26TAA"), name="o26.xml")
    report = invoices_import(uploads=[("a.xml", adjustment(SHDCLQuan="120"))], actor=finance)
    entry = report.uploads[0].entries[0]
    correction = Invoice.objects.get(pk=entry.invoice_id)
    assert (correction.original_id, correction.related_match) == (None, RelatedMatch.AMBIGUOUS)
    assert "2 invoices match" in entry.as_dict()["notes"][0]


def test_the_date_given_picks_one_of_several(finance):
    import_one(original(series="C25TAA", issue_date="2025-09-01"), name="o25.xml")
    wanted = import_one(original(series="C26TAA"), name="o26.xml")
    correction = import_one(adjustment(SHDCLQuan="120", NLHDCLQuan="2026-09-01"), name="a.xml")
    assert (correction.original_id, correction.related_match) == (wanted.pk, RelatedMatch.LINKED)


def test_form_and_series_written_together_are_split(finance):
    import_one(original(series="C25TAA", issue_date="2025-09-01"), name="o25.xml")
    wanted = import_one(original(series="C26TAA"), name="o26.xml")
    correction = import_one(adjustment(SHDCLQuan="120", KHHDCLQuan="1C26TAA"), name="a.xml")
    assert (correction.related_template_code, correction.related_series) == ("1", "C26TAA")
    assert correction.original_id == wanted.pk


def test_an_original_of_another_seller_never_matches(finance):
    import_one(invoice(number="120", seller_tax_code="0109876543"), name="other.xml")
    correction = import_one(adjustment(SHDCLQuan="120"), name="a.xml")
    assert correction.related_match == RelatedMatch.NOT_FOUND


# --- a credit note whose original is named only in a line's text ----------------------------------

CREDIT_TEXT = "Điều chỉnh giảm đơn giá của hóa đơn số 00000120, ký hiệu 1C26TAA, ngày 01/09/2026"


def credit_note(text: str = CREDIT_TEXT, *, amount: str = "-100000") -> bytes:
    return invoice(number="00000140", lines=[L(amount, name=text)], summaries=[("10%", amount, str(D(amount) / 10))])


def test_credit_note_original_read_from_line_text():
    related = parse_invoice(credit_note()).related
    assert related is not None and related.from_line_text
    assert (related.kind, related.form, related.series, related.number_int) == (2, "1", "C26TAA", 120)
    assert related.issue_date == date(2026, 9, 1)


def test_credit_note_from_line_text_links_on_import(finance):
    first = import_one(original(), name="o.xml")
    report = invoices_import(uploads=[("c.xml", credit_note())], actor=finance)
    entry = report.uploads[0].entries[0]
    credit = Invoice.objects.get(pk=entry.invoice_id)
    assert (credit.related_kind, credit.original_id, credit.related_from_line_text) == (2, first.pk, True)
    assert any("line's text" in note for note in entry.as_dict()["notes"])


@pytest.mark.parametrize(
    "text",
    [
        "Điều chỉnh giảm số lượng theo HĐ số 120 ký hiệu C26TAA ngày 01 tháng 09 năm 2026",
        "DIEU CHINH GIAM hoa don so: 120",
    ],
)
def test_credit_note_text_variants(text):
    related = parse_invoice(credit_note(text)).related
    assert related is not None and related.number_int == 120


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("Dịch vụ theo hợp đồng số 120", "-100000"),  # no "điều chỉnh"
        ("Điều chỉnh tăng đơn giá của hóa đơn số 120", "100000"),  # an increase, not a credit
        ("Điều chỉnh giảm theo hóa đơn số 120 và hóa đơn số 121", "-100000"),  # two invoices named
        ("Điều chỉnh giảm đơn giá của hóa đơn số 140, ký hiệu 1C26TAA", "-100000"),  # names itself
    ],
)
def test_credit_note_text_that_is_not_unambiguous_is_not_read(text, amount):
    assert parse_invoice(credit_note(text, amount=amount)).related is None
